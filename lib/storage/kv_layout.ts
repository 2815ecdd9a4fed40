// How the Raft log sits in Deno KV. One database per node.
//
//   ["hs"]                 HardState
//   ["log", index]         the entry: a small one as raw bytes (encodeInlineEntry, no V8
//                          serialization on the hot path), a large one as a LogHeader whose
//                          data is split into chunks
//   ["logc", index, i]     chunk i of a large entry's data (written before its header)
//   ["snap"]               SnapHeader: the current snapshot's meta and its chunk generation
//   ["snapc", gen, i]      chunk i of snapshot generation `gen` (written before the switch)
//   ["stage"]              StageHeader: the snapshot being staged (received from the leader)
//                          and how far: its chunks are ["snapc", stage.gen, i] for i < chunks;
//                          installing it points ["snap"] at that generation (no copy)
//
// A header is the commit point of its entry: chunks without a header are an absent entry.

import type { ConfigState, EntryType, HardState, SnapshotMeta } from "../raft/types.ts";
import { concatBytes } from "../bytes.ts";
import { copyConfig, SNAPSHOT_CHUNK_BYTES } from "./storage.ts";

/** Deno KV refuses values over 65,536 bytes; raw Uint8Array values are stored as is. */
export const CHUNK_BYTES = SNAPSHOT_CHUNK_BYTES;
/** Entries up to this size are stored whole under their key (with a few bytes of header). */
export const INLINE_BYTES_MAX = 60_000;

export const HS_KEY: Deno.KvKey = ["hs"];
export const SNAP_KEY: Deno.KvKey = ["snap"];
export const STAGE_KEY: Deno.KvKey = ["stage"];
export const LOG_PREFIX: Deno.KvKey = ["log"];
export const LOG_CHUNK_PREFIX: Deno.KvKey = ["logc"];
export const SNAP_CHUNK_PREFIX: Deno.KvKey = ["snapc"];

export const logKey = (index: number): Deno.KvKey => ["log", index];
export const logChunkKey = (index: number, i: number): Deno.KvKey => ["logc", index, i];
export const snapChunkKey = (gen: number, i: number): Deno.KvKey => ["snapc", gen, i];

/** `data` is null and `chunks` > 0 when the data lives under ["logc", index, *]. */
export interface LogHeader {
  term: number;
  type: EntryType;
  data: Uint8Array | null;
  chunks: number;
  bytes: number;
}

export interface SnapHeader {
  gen: number;
  index: number;
  term: number;
  config: ConfigState;
  chunks: number;
  bytes: number;
}

export interface StageHeader {
  gen: number;
  index: number;
  term: number;
  chunks: number;
  bytes: number;
}

export function chunkCount(bytes: number): number {
  return Math.ceil(bytes / CHUNK_BYTES);
}

/** Views, not copies: Deno KV serializes them at commit. */
export function chunksOf(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += CHUNK_BYTES) {
    out.push(data.subarray(off, off + CHUNK_BYTES));
  }
  return out;
}

/** Joins chunks into one fresh buffer; null if they do not add up to `bytes` (torn). */
export function joinChunks(chunks: Uint8Array[], bytes: number): Uint8Array | null {
  let total = 0;
  for (const c of chunks) total += c.length;
  return total === bytes ? concatBytes(chunks) : null;
}

/** A buffer of its own: never hand out a view into something larger. */
export function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
}

// --- decoding what is on disk. A value of the wrong shape is corruption, not a torn write:
// our commits are atomic, so fail-stop rather than silently drop acknowledged state.

export class StorageCorruptError extends Error {
  constructor(key: Deno.KvKey, what: string) {
    super(`corrupt value at ${JSON.stringify(key)}: ${what}`);
    this.name = "StorageCorruptError";
  }
}

type Rec = Record<string, unknown>;

function isRec(v: unknown): v is Rec {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

const ENTRY_TYPES: readonly EntryType[] = ["normal", "config", "noop"];

export function decodeHardState(key: Deno.KvKey, v: unknown): HardState {
  if (
    !isRec(v) || !isCount(v.term) || !isCount(v.commitIndex) ||
    !(v.votedFor === null || typeof v.votedFor === "string")
  ) throw new StorageCorruptError(key, "hard state");
  return { term: v.term, votedFor: v.votedFor, commitIndex: v.commitIndex };
}

// An inline entry as raw bytes: [INLINE_TAG, type code, term as a float64 (big-endian),
// data...]. A raw Uint8Array costs Deno KV no serialization; the V8 serializer it uses for
// objects was ~5% of a node's CPU under write load.
const INLINE_TAG = 1;
const INLINE_HEADER_BYTES = 10;

/** A small entry's stored value (data up to INLINE_BYTES_MAX). */
export function encodeInlineEntry(term: number, type: EntryType, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(INLINE_HEADER_BYTES + data.length);
  out[0] = INLINE_TAG;
  out[1] = ENTRY_TYPES.indexOf(type);
  new DataView(out.buffer).setFloat64(2, term);
  out.set(data, INLINE_HEADER_BYTES);
  return out;
}

function decodeInlineEntry(key: Deno.KvKey, v: Uint8Array): LogHeader {
  const type = ENTRY_TYPES[v[1]];
  const term = v.length >= INLINE_HEADER_BYTES
    ? new DataView(v.buffer, v.byteOffset, v.byteLength).getFloat64(2)
    : -1;
  if (v[0] !== INLINE_TAG || type === undefined || !isCount(term)) {
    throw new StorageCorruptError(key, "log entry");
  }
  const data = v.slice(INLINE_HEADER_BYTES); // a buffer of its own, as loaded entries have
  return { term, type, data, chunks: 0, bytes: data.length };
}

/** A stored entry: inline bytes, or a header object (chunked, or written by an older
 * version, which kept every entry in an object). */
export function decodeLogHeader(key: Deno.KvKey, v: unknown): LogHeader {
  if (v instanceof Uint8Array) return decodeInlineEntry(key, v);
  if (
    !isRec(v) || !isCount(v.term) || !isCount(v.chunks) || !isCount(v.bytes) ||
    !ENTRY_TYPES.includes(v.type as EntryType)
  ) throw new StorageCorruptError(key, "log header");
  const inline = v.chunks === 0;
  if (inline ? !(v.data instanceof Uint8Array) || v.data.length !== v.bytes : v.data !== null) {
    throw new StorageCorruptError(key, "log header data");
  }
  return {
    term: v.term,
    type: v.type as EntryType,
    data: v.data === null ? null : ownBytes(v.data as Uint8Array),
    chunks: v.chunks,
    bytes: v.bytes,
  };
}

export function decodeChunk(key: Deno.KvKey, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new StorageCorruptError(key, "chunk");
  return v;
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

export function decodeSnapHeader(key: Deno.KvKey, v: unknown): SnapHeader {
  if (
    !isRec(v) || !isCount(v.gen) || !isCount(v.index) || !isCount(v.term) ||
    !isCount(v.chunks) || !isCount(v.bytes) || !isRec(v.config) ||
    !isStrings(v.config.voters) || !isStrings(v.config.learners) ||
    (v.config.contexts !== undefined && !isStringRecord(v.config.contexts))
  ) throw new StorageCorruptError(key, "snapshot header");
  return {
    gen: v.gen,
    index: v.index,
    term: v.term,
    config: copyConfig(v.config as unknown as ConfigState),
    chunks: v.chunks,
    bytes: v.bytes,
  };
}

export function decodeStageHeader(key: Deno.KvKey, v: unknown): StageHeader {
  if (
    !isRec(v) || !isCount(v.gen) || !isCount(v.index) || !isCount(v.term) ||
    !isCount(v.chunks) || !isCount(v.bytes)
  ) throw new StorageCorruptError(key, "stage header");
  return { gen: v.gen, index: v.index, term: v.term, chunks: v.chunks, bytes: v.bytes };
}

export function metaOf(h: SnapHeader): SnapshotMeta {
  return {
    index: h.index,
    term: h.term,
    config: copyConfig(h.config),
  };
}

function isStringRecord(v: unknown): boolean {
  return isRec(v) && Object.values(v).every((s) => typeof s === "string");
}

export function keyIndex(key: Deno.KvKey, at: number): number {
  const part = key[at];
  if (!isCount(part)) throw new StorageCorruptError(key, "key part");
  return part;
}
