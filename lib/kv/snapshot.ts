// The snapshot image: MessagePack of one array, deterministic by construction (keys in UTF-8
// order, idempotency entries in revision order, fixed field order, no maps), so replicas with
// the same history produce the same bytes. Records are flattened into one array rather than
// one array per key: half the headers and allocations, which matters at 100k keys.
//
//   ["raftkv-kv", 1, appliedIndex, revision, clockMs,
//    [key, value, createRevision, modRevision, version, expiresAt|null, ...],
//    [idempotencyKey, revision, timeMs, resultBytes, ...]]
//
// Decoding checks every field (the image may come from a peer) and throws SnapshotError.

import { decode, Encoder } from "@msgpack/msgpack";
import type { IdempotencyEntry } from "./idempotency.ts";
import type { KeyValue } from "./results.ts";

const MAGIC = "raftkv-kv";
const SNAPSHOT_VERSION = 1;
const RECORD_FIELDS = 6;
const IDEMPOTENCY_FIELDS = 4;

export class SnapshotError extends Error {
  override name = "SnapshotError";
}

/** The whole replicated state, as a snapshot carries it. */
export interface KvImage {
  appliedIndex: number;
  revision: number;
  clockMs: number;
  /** Strictly ascending by key (UTF-8 order). */
  records: KeyValue[];
  /** Ascending by revision. */
  idempotency: IdempotencyEntry[];
}

export function encodeSnapshot(image: KvImage): Uint8Array {
  const records: unknown[] = new Array(image.records.length * RECORD_FIELDS);
  let i = 0;
  for (const kv of image.records) {
    records[i++] = kv.key;
    records[i++] = kv.value;
    records[i++] = kv.createRevision;
    records[i++] = kv.modRevision;
    records[i++] = kv.version;
    records[i++] = kv.expiresAt;
  }
  const idempotency: unknown[] = [];
  for (const e of image.idempotency) idempotency.push(e.key, e.revision, e.timeMs, e.result);
  const root = [
    MAGIC,
    SNAPSHOT_VERSION,
    image.appliedIndex,
    image.revision,
    image.clockMs,
    records,
    idempotency,
  ];
  // A large initial buffer avoids repeated doubling for big stores.
  return new Encoder({ initialBufferSize: 64 * 1024 }).encode(root);
}

/** Parses and checks a snapshot image. Throws SnapshotError on anything malformed. */
export function decodeSnapshot(bytes: Uint8Array): KvImage {
  let root: unknown;
  try {
    root = decode(bytes);
  } catch (e) {
    throw new SnapshotError(`not MessagePack: ${e instanceof Error ? e.message : e}`);
  }
  if (!Array.isArray(root) || root.length !== 7) fail("root is not a 7-element array");
  if (root[0] !== MAGIC) fail("not a raftkv kv snapshot");
  if (root[1] !== SNAPSHOT_VERSION) fail(`unsupported snapshot version ${root[1]}`);
  const appliedIndex = count(root[2], "appliedIndex");
  const revision = count(root[3], "revision");
  const clockMs = count(root[4], "clockMs");
  if (revision > appliedIndex) fail("revision beyond appliedIndex");
  return {
    appliedIndex,
    revision,
    clockMs,
    records: decodeRecords(root[5], revision),
    idempotency: decodeIdempotency(root[6], appliedIndex),
  };
}

function decodeRecords(flat: unknown, revision: number): KeyValue[] {
  if (!Array.isArray(flat) || flat.length % RECORD_FIELDS !== 0) fail("bad records array");
  const records: KeyValue[] = new Array(flat.length / RECORD_FIELDS);
  for (let i = 0, r = 0; i < flat.length; i += RECORD_FIELDS, r++) {
    const kv: KeyValue = {
      key: string(flat[i], "key"),
      value: copy(flat[i + 1], "value"),
      createRevision: count(flat[i + 2], "createRevision"),
      modRevision: count(flat[i + 3], "modRevision"),
      version: count(flat[i + 4], "version"),
      expiresAt: flat[i + 5] === null ? null : count(flat[i + 5], "expiresAt"),
    };
    const sane = kv.key.length > 0 && kv.version >= 1 && kv.createRevision >= 1 &&
      kv.createRevision <= kv.modRevision && kv.modRevision <= revision;
    if (!sane) fail(`inconsistent record for key ${JSON.stringify(kv.key)}`);
    records[r] = kv;
  }
  return records;
}

function decodeIdempotency(flat: unknown, appliedIndex: number): IdempotencyEntry[] {
  if (!Array.isArray(flat) || flat.length % IDEMPOTENCY_FIELDS !== 0) {
    fail("bad idempotency array");
  }
  const entries: IdempotencyEntry[] = [];
  for (let i = 0; i < flat.length; i += IDEMPOTENCY_FIELDS) {
    const entry: IdempotencyEntry = {
      key: string(flat[i], "idempotency key"),
      revision: count(flat[i + 1], "idempotency revision"),
      timeMs: count(flat[i + 2], "idempotency timeMs"),
      result: copy(flat[i + 3], "idempotency result"),
    };
    if (entry.revision > appliedIndex) fail("idempotency entry beyond appliedIndex");
    entries.push(entry);
  }
  return entries;
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    fail(`${what} is not a non-negative integer`);
  }
  return value;
}

function string(value: unknown, what: string): string {
  if (typeof value !== "string") fail(`${what} is not a string`);
  return value;
}

/** Byte strings decode as views into the snapshot buffer: copy so that buffer can be freed. */
function copy(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(`${what} is not bytes`);
  return value.slice();
}

function fail(message: string): never {
  throw new SnapshotError(`bad snapshot: ${message}`);
}
