// Mutual authentication of a peer connection by HMAC-SHA256 over the cluster secret.
// The secret never crosses the wire; fresh nonces on both sides defeat replay, and distinct
// labels keep a dialer's proof from being reflected back as an acceptor's (or vice versa).
//
//   acceptor → dialer:   challenge { nonce }
//   dialer   → acceptor: auth { id, nonce: nonce2, mac: HMAC(k, "raftkv-auth" | nonce | dialer | acceptor) }
//   acceptor → dialer:   welcome { mac: HMAC(k, "raftkv-welcome" | nonce2 | acceptor | dialer) }

import { encode } from "@msgpack/msgpack";
import type { NodeId } from "../raft/types.ts";
import { NONCE_BYTES } from "./codec.ts";

/** Imports the cluster secret as an HMAC-SHA256 key that cannot be exported again. */
export function importSecret(secret: string): Promise<CryptoKey> {
  if (secret.length === 0) throw new Error("the peer secret must not be empty");
  return crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

export function newNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
}

// MessagePack of a tuple is an unambiguous encoding of its parts (length-prefixed), so no two
// different (nonce, ids) tuples can produce the same MAC input.
function dialerInput(nonce: Uint8Array, dialer: NodeId, acceptor: NodeId): Uint8Array {
  return encode(["raftkv-auth", nonce, dialer, acceptor]);
}

function acceptorInput(nonce2: Uint8Array, acceptor: NodeId, dialer: NodeId): Uint8Array {
  return encode(["raftkv-welcome", nonce2, acceptor, dialer]);
}

async function sign(key: CryptoKey, input: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, asBuffer(input)));
}

// crypto.subtle.verify compares in constant time.
function verify(key: CryptoKey, mac: Uint8Array, input: Uint8Array): Promise<boolean> {
  return crypto.subtle.verify("HMAC", key, asBuffer(mac), asBuffer(input));
}

function asBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** The dialer's proof, answering the acceptor's challenge `nonce`. */
export function dialerMac(
  key: CryptoKey,
  nonce: Uint8Array,
  dialer: NodeId,
  acceptor: NodeId,
): Promise<Uint8Array> {
  return sign(key, dialerInput(nonce, dialer, acceptor));
}

export function verifyDialerMac(
  key: CryptoKey,
  mac: Uint8Array,
  nonce: Uint8Array,
  dialer: NodeId,
  acceptor: NodeId,
): Promise<boolean> {
  return verify(key, mac, dialerInput(nonce, dialer, acceptor));
}

/** The acceptor's proof, answering the dialer's `nonce2`. */
export function acceptorMac(
  key: CryptoKey,
  nonce2: Uint8Array,
  acceptor: NodeId,
  dialer: NodeId,
): Promise<Uint8Array> {
  return sign(key, acceptorInput(nonce2, acceptor, dialer));
}

export function verifyAcceptorMac(
  key: CryptoKey,
  mac: Uint8Array,
  nonce2: Uint8Array,
  acceptor: NodeId,
  dialer: NodeId,
): Promise<boolean> {
  return verify(key, mac, acceptorInput(nonce2, acceptor, dialer));
}
