// zod schemas for every frame a peer may send: the edge where untrusted bytes become typed
// values. The Message schemas mirror lib/raft/types.ts exactly (strict objects: no extra keys),
// and a compile-time check below fails the build if the two ever drift apart.

import { z } from "zod";
import type { Message } from "../raft/types.ts";
import type { PeerMessage } from "./transport.ts";

/** Limits applied while validating; every list and byte string has one. */
export interface SchemaLimits {
  /** Entries in one append or propose message. */
  entriesPerFrameMax: number;
  /** Voters (and, separately, learners) in a snapshot's configuration. */
  membersMax: number;
  /** Length of a node id. */
  idLengthMax: number;
}

export const defaultSchemaLimits: SchemaLimits = {
  entriesPerFrameMax: 65_536,
  membersMax: 1_024,
  idLengthMax: 64,
};

/** The envelope version this build speaks. A frame with any other `v` is rejected. */
export const FRAME_VERSION = 1;

/** Handshake nonces and MACs (HMAC-SHA256) are exactly this long. */
export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;

// Decoded byte strings are views into the frame buffer: copy them out so the message owns its
// bytes and the (possibly large) receive buffer can be freed.
const copy = (view: Uint8Array): Uint8Array => new Uint8Array(view);
const bytes = z.instanceof(Uint8Array).transform(copy);
const fixedBytes = (length: number) =>
  z.instanceof(Uint8Array).refine((b) => b.byteLength === length, `expected ${length} bytes`)
    .transform(copy);
const count = z.int().nonnegative();
const entryType = z.enum(["normal", "config", "noop"]);

export function buildSchemas(limits: SchemaLimits) {
  const nodeId = z.string().min(1).max(limits.idLengthMax);
  const base = { from: nodeId, to: nodeId, term: count };
  const entry = z.strictObject({ term: count, index: count, type: entryType, data: bytes });
  const meta = z.strictObject({
    index: count,
    term: count,
    config: z.strictObject({
      voters: z.array(nodeId).max(limits.membersMax),
      learners: z.array(nodeId).max(limits.membersMax),
      contexts: z.record(nodeId, z.string().max(4096)).optional(),
    }),
  });
  const snapshot = z.strictObject({ meta, data: bytes });
  const snapshotRequest = z.strictObject({
    ...base,
    type: z.literal("snapshot"),
    snapshot,
  });

  const raftMessages = [
    z.strictObject({
      ...base,
      type: z.enum(["vote", "preVote"]),
      lastLogIndex: count,
      lastLogTerm: count,
      transfer: z.boolean(),
    }),
    z.strictObject({ ...base, type: z.enum(["voteResp", "preVoteResp"]), granted: z.boolean() }),
    z.strictObject({
      ...base,
      type: z.literal("append"),
      prevLogIndex: count,
      prevLogTerm: count,
      entries: z.array(entry).max(limits.entriesPerFrameMax),
      commitIndex: count,
    }),
    z.strictObject({
      ...base,
      type: z.literal("appendResp"),
      success: z.boolean(),
      matchIndex: count,
      rejectIndex: count,
      hintIndex: count,
      hintTerm: count,
    }),
    z.strictObject({ ...base, type: z.literal("heartbeat"), commitIndex: count, readSeq: count }),
    z.strictObject({ ...base, type: z.literal("heartbeatResp"), readSeq: count }),
    snapshotRequest,
    z.strictObject({ ...base, type: z.literal("timeoutNow") }),
    z.strictObject({ ...base, type: z.literal("readIndex"), ctx: count }),
    z.strictObject({ ...base, type: z.literal("readIndexResp"), ctx: count, index: count }),
    z.strictObject({
      ...base,
      type: z.literal("propose"),
      entries: z.array(z.strictObject({ type: entryType, data: bytes }))
        .max(limits.entriesPerFrameMax),
    }),
  ] as const;
  const message = z.discriminatedUnion("type", raftMessages);
  const peerMessage = z.discriminatedUnion("type", [
    ...raftMessages,
    z.strictObject({
      ...base,
      type: z.literal("snapChunk"),
      meta,
      total: count,
      offset: count,
      data: bytes,
    }),
    z.strictObject({
      ...base,
      type: z.literal("snapAck"),
      index: count,
      snapTerm: count,
      offset: count,
    }),
  ]);

  const v = z.literal(FRAME_VERSION);
  const frame = z.discriminatedUnion("kind", [
    z.strictObject({ v, kind: z.literal("raft"), msg: peerMessage }),
    z.strictObject({ v, kind: z.literal("challenge"), nonce: fixedBytes(NONCE_BYTES) }),
    z.strictObject({
      v,
      kind: z.literal("auth"),
      id: nodeId,
      nonce: fixedBytes(NONCE_BYTES),
      mac: fixedBytes(MAC_BYTES),
    }),
    z.strictObject({ v, kind: z.literal("welcome"), mac: fixedBytes(MAC_BYTES) }),
  ]);
  return { message, peerMessage, frame };
}

type Schemas = ReturnType<typeof buildSchemas>;
export type Frame = z.output<Schemas["frame"]>;
export type FrameKind = Frame["kind"];
export type SnapshotRequest = Extract<Message, { type: "snapshot" }>;

// Compile-time proof that the validated shape is exactly the core's Message union.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const messageShapeMatches: Same<z.output<Schemas["message"]>, Message> = true;
const peerShapeMatches: Same<z.output<Schemas["peerMessage"]>, PeerMessage> = true;
void messageShapeMatches;
void peerShapeMatches;
