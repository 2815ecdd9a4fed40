import assert from "node:assert/strict";
import {
  acceptorMac,
  dialerMac,
  importSecret,
  newNonce,
  verifyAcceptorMac,
  verifyDialerMac,
} from "./handshake.ts";

Deno.test("handshake: MACs verify only with the same secret, nonce and ids", async () => {
  const key = await importSecret("s3cret");
  const other = await importSecret("s3cret!");
  const nonce = newNonce();
  assert.equal(nonce.byteLength, 32);
  assert.notDeepEqual(nonce, newNonce());
  const mac = await dialerMac(key, nonce, "n1", "n2");
  assert.equal(mac.byteLength, 32);
  assert.equal(await verifyDialerMac(key, mac, nonce, "n1", "n2"), true);
  assert.equal(await verifyDialerMac(other, mac, nonce, "n1", "n2"), false, "wrong secret");
  assert.equal(await verifyDialerMac(key, mac, newNonce(), "n1", "n2"), false, "replayed");
  assert.equal(await verifyDialerMac(key, mac, nonce, "n3", "n2"), false, "other dialer");
  assert.equal(await verifyDialerMac(key, mac, nonce, "n1", "n3"), false, "other acceptor");
  // Ids are length-prefixed: moving a character between them changes the MAC.
  assert.equal(await verifyDialerMac(key, mac, nonce, "n1n", "2"), false, "ambiguous split");
});

Deno.test("handshake: a dialer's proof cannot be reflected as an acceptor's", async () => {
  const key = await importSecret("s3cret");
  const nonce = newNonce();
  const dialerProof = await dialerMac(key, nonce, "n1", "n2");
  assert.equal(await verifyAcceptorMac(key, dialerProof, nonce, "n1", "n2"), false);
  const acceptorProof = await acceptorMac(key, nonce, "n2", "n1");
  assert.equal(await verifyAcceptorMac(key, acceptorProof, nonce, "n2", "n1"), true);
  assert.equal(await verifyDialerMac(key, acceptorProof, nonce, "n2", "n1"), false);
});

Deno.test("handshake: an empty secret is refused", () => {
  assert.throws(() => importSecret(""), /must not be empty/);
});
