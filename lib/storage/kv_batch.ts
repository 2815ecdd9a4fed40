// Turns an ordered list of KV mutations into as few atomic commits as Deno KV allows.
// Each commit costs one fsync (DURABILITY.md), so we pack greedily; the order of the list is
// kept, so a crash between two commits leaves a prefix of the list applied. Callers order
// their mutations so that every such prefix is a valid state.

export type KvOp =
  | { type: "set"; key: Deno.KvKey; value: unknown; bytes: number }
  | { type: "delete"; key: Deno.KvKey };

export interface CommitLimits {
  mutationsMax: number;
  /** Keys plus values, as Deno counts it (its limit: 819,200). */
  bytesMax: number;
  /** Keys alone (Deno's limit: 81,920). */
  keyBytesMax: number;
}

/** Below Deno KV's hard limits (1,000 mutations; 800 KiB; 80 KiB of keys), with room for
 * our byte estimates being rough. */
export const KV_COMMIT_LIMITS: Readonly<CommitLimits> = Object.freeze({
  mutationsMax: 990,
  bytesMax: 768 * 1024,
  keyBytesMax: 64 * 1024,
});

/** Our keys are at most a short string and two numbers: about 25 encoded bytes. */
const KEY_BYTES_EST = 48;
/** A V8-serialized header object around inline data (measured under 140 bytes). */
const OBJECT_OVERHEAD_EST = 256;

export function setBytes(key: Deno.KvKey, value: Uint8Array): KvOp {
  return { type: "set", key, value, bytes: value.length + 16 };
}

/** An object value holding at most `dataBytes` of binary data plus small fields. */
export function setObject(key: Deno.KvKey, value: object, dataBytes: number): KvOp {
  return { type: "set", key, value, bytes: dataBytes + OBJECT_OVERHEAD_EST };
}

export function del(key: Deno.KvKey): KvOp {
  return { type: "delete", key };
}

function opBytes(op: KvOp): number {
  return KEY_BYTES_EST + (op.type === "set" ? op.bytes : 0);
}

/** Splits `ops` into consecutive groups within `limits`. */
export function planCommits(ops: KvOp[], limits: CommitLimits = KV_COMMIT_LIMITS): KvOp[][] {
  const groups: KvOp[][] = [];
  let group: KvOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const b = opBytes(op);
    if (b > limits.bytesMax) throw new Error(`one KV mutation of ~${b} bytes exceeds a commit`);
    const full = group.length + 1 > limits.mutationsMax || bytes + b > limits.bytesMax ||
      (group.length + 1) * KEY_BYTES_EST > limits.keyBytesMax;
    if (full && group.length > 0) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(op);
    bytes += b;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export interface CommitCounter {
  commits: number;
  commitMsTotal: number;
}

/** Commits `ops` in order, one atomic commit per planned group, each awaited (durable). */
export async function commitOps(kv: Deno.Kv, ops: KvOp[], counter: CommitCounter): Promise<void> {
  for (const group of planCommits(ops)) {
    const atomic = kv.atomic();
    for (const op of group) {
      switch (op.type) {
        case "set":
          atomic.set(op.key, op.value);
          break;
        case "delete":
          atomic.delete(op.key);
          break;
        default:
          assertNever(op);
      }
    }
    const t0 = performance.now();
    const res = await atomic.commit();
    counter.commitMsTotal += performance.now() - t0;
    counter.commits++;
    // Without checks a commit cannot fail softly; if it did, state on disk is unknown.
    if (!res.ok) throw new Error("Deno KV commit without checks reported failure");
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}
