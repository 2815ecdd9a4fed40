// The Raft core's public face: a pure, deterministic state machine (see node.ts).

export { RaftNode } from "./node.ts";
export type { PeerProgress, RaftStatus } from "./node.ts";
export type { ProposedEntry } from "./raft.ts";
export { applyConfChange, decodeConfChange, encodeConfChange } from "./confchange.ts";
export { InvariantError } from "./assert.ts";
export { majority, quorumValue } from "./quorum.ts";
export * from "./types.ts";
