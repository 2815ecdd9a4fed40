// A linearizability checker for one register per key: Wing & Gong's search with Lowe's
// memoization, the algorithm of Porcupine (github.com/anishathalye/porcupine), in TypeScript.
//
// Each operation has an invocation time and, when its outcome is known, a completion time.
// The search walks the history's call/return events in time order, trying to linearize any
// pending call at the front (so it takes effect "now"), and backtracks when it meets the
// return of an operation not yet linearized. A cache of (linearized set, model state) pairs
// prunes every configuration already explored, which turns the exponential search into one
// that is fast on real histories. Histories are checked one key at a time: a register per key
// is independent of every other (P-compositionality, Horn & Kroening 2015).
//
// An indeterminate operation (completeMs null: a timeout, a 504, a dropped connection) may have
// taken effect at any moment after its invocation, or never. It has no return event, so it
// never forces backtracking, and the search succeeds once every determinate operation is
// linearized: indeterminate operations still pending then are placed after everything that
// observed the register, which is the same as never.

/** The register holds no value (never written, or deleted). */
export const ABSENT = -1;
/** A CAS whose expected revision names no write to this key: it can never succeed. */
export const NO_VALUE = -2;
/**
 * The value of any indeterminate write that no operation observed. No read returned it, no
 * CAS expected it, no 412 named it: such values are indistinguishable, so they share one id,
 * which lets the search treat those writes as interchangeable (see slotsOf).
 */
export const UNSEEN = -3;

/** What a failed CAS (412) reported as the key's current state. */
export type CurrentState =
  | { type: "any" }
  | { type: "is"; value: number }
  | { type: "presentExcept"; excluded: readonly number[] };

/** One operation on a register whose values are small integers (unique per write). */
export type RegisterOp =
  | { type: "read"; expect: number }
  | { type: "write"; value: number }
  | {
    type: "cas";
    from: number;
    to: number;
    outcome: "ok" | "failed" | "unknown";
    current: CurrentState;
  }
  | { type: "delete"; outcome: "deleted" | "absent" | "unknown" };

export interface CheckOp {
  /** Reported back in results (an index into the caller's history). */
  id: number;
  invokeMs: number;
  /** null: indeterminate — it may take effect any time after invokeMs, or never. */
  completeMs: number | null;
  op: RegisterOp;
}

export type CheckResult =
  | { type: "linearizable"; steps: number }
  | {
    type: "violation";
    steps: number;
    /** The longest linearization found, in order (ids). */
    longest: number[];
    /** The operation whose completion the longest attempt could not get past. */
    stuckAt: number | null;
  }
  | { type: "unknown"; steps: number; reason: string };

export interface CheckOptions {
  /** performance.now() after which the search gives up with "unknown". */
  deadlineMs?: number;
  /** Cached configurations after which it gives up (memory bound). */
  cacheMax?: number;
}

const CACHE_MAX = 5_000_000;
const DEADLINE_CHECK_EVERY = 4096;

/** The register's next state after `op` in `state`, or null if `op` cannot happen there. */
export function step(state: number, op: RegisterOp): number | null {
  switch (op.type) {
    case "read":
      return op.expect === state ? state : null;
    case "write":
      return op.value;
    case "cas": {
      const matches = state === op.from;
      switch (op.outcome) {
        case "ok":
          return matches ? op.to : null;
        case "failed":
          return !matches && currentMatches(state, op.current) ? state : null;
        case "unknown":
          return matches ? op.to : state;
      }
      break;
    }
    case "delete":
      switch (op.outcome) {
        case "deleted":
          return state !== ABSENT ? ABSENT : null;
        case "absent":
          return state === ABSENT ? ABSENT : null;
        case "unknown":
          return ABSENT;
      }
  }
  return assertNever(op);
}

function currentMatches(state: number, current: CurrentState): boolean {
  switch (current.type) {
    case "any":
      return true;
    case "is":
      return state === current.value;
    case "presentExcept":
      return state !== ABSENT && !current.excluded.includes(state);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}

/**
 * Checks one register's history, first without the indeterminate operations (a linearization
 * in which they never happened is a linearization of the whole history), and only if that
 * fails with all of them.
 */
export function checkRegister(ops: readonly CheckOp[], options: CheckOptions = {}): CheckResult {
  const determinate = ops.filter((op) => op.completeMs !== null);
  if (determinate.length === ops.length) return search(ops, options);
  const first = search(determinate, options);
  if (first.type === "linearizable") return first;
  const full = search(ops, options);
  return { ...full, steps: first.steps + full.steps };
}

interface Event {
  op: number;
  call: boolean;
  timeMs: number;
}

/**
 * Where each operation stands in the search's bookkeeping. A determinate one has a bit in the
 * linearized set. Indeterminate ones are grouped by what they do (the same RegisterOp: e.g.
 * writes of values nobody observed, which the caller maps to UNSEEN), and within a group
 * they are interchangeable: in any linearization, one invoked later can be swapped for an
 * earlier one left unused, since neither has a completion to respect. So each group is used
 * in invocation order and a count per group replaces 2^k subsets with k+1 prefixes.
 */
type Slot = { type: "bit"; index: number } | { type: "group"; group: number; rank: number };

function slotsOf(ops: readonly CheckOp[]): { slots: Slot[]; bits: number; groups: number } {
  const slots: Slot[] = new Array(ops.length);
  let bits = 0;
  const groups = new Map<string, number>();
  const ranks: number[] = [];
  const order = ops.map((_, i) => i);
  order.sort((a, b) => ops[a].invokeMs - ops[b].invokeMs || a - b);
  for (const i of order) {
    if (ops[i].completeMs !== null) {
      slots[i] = { type: "bit", index: bits++ };
      continue;
    }
    const signature = JSON.stringify(ops[i].op);
    let group = groups.get(signature);
    if (group === undefined) groups.set(signature, group = groups.size);
    ranks[group] = (ranks[group] ?? -1) + 1;
    slots[i] = { type: "group", group, rank: ranks[group] };
  }
  return { slots, bits, groups: groups.size };
}

/**
 * Configurations known to have no linearization of the rest of the history: (determinate
 * set, state) → the group counts they were explored with. Fewer indeterminate operations
 * used leaves more for later, so a configuration whose counts are all at least those of a
 * failed one (same set, same state) fails too. Porcupine keeps an exact-match cache; with
 * only determinate operations this is the same cache.
 */
class FailedConfigs {
  private readonly table = new Map<string, Int32Array[]>();
  size = 0;

  key(state: number, bits: Uint32Array): string {
    return `${state}|${bits.join(",")}`;
  }

  covers(key: string, counts: Int32Array): boolean {
    const list = this.table.get(key);
    if (list === undefined) return false;
    return list.some((failed) => failed.every((count, g) => count <= counts[g]));
  }

  add(key: string, counts: Int32Array): void {
    const list = this.table.get(key);
    if (list === undefined) this.table.set(key, [counts.slice()]);
    else list.push(counts.slice());
    this.size++;
  }
}

/** The Wing–Gong–Lowe search over one register's history. */
export function search(ops: readonly CheckOp[], options: CheckOptions = {}): CheckResult {
  const events = buildEvents(ops);
  const m = events.length;
  // A doubly linked list over events 1..m with sentinels 0 (head) and m+1 (tail), so lifting
  // and unlifting an operation is O(1) (dancing links).
  const next = new Int32Array(m + 2);
  const prev = new Int32Array(m + 2);
  for (let i = 0; i <= m; i++) next[i] = i + 1;
  for (let i = 1; i <= m + 1; i++) prev[i] = i - 1;
  const returnOf = new Int32Array(ops.length).fill(-1);
  events.forEach((e, i) => {
    if (!e.call) returnOf[e.op] = i + 1;
  });
  const lift = (i: number) => {
    next[prev[i]] = next[i];
    prev[next[i]] = prev[i];
  };
  const unlift = (i: number) => {
    next[prev[i]] = i;
    prev[next[i]] = i;
  };

  const { slots, bits, groups } = slotsOf(ops);
  const linearized = new Uint32Array(Math.ceil(bits / 32) + 1);
  const counts = new Int32Array(groups);
  /** Marks op `i` linearized (+1) or not (-1). */
  const mark = (i: number, delta: 1 | -1) => {
    const slot = slots[i];
    if (slot.type === "bit") flip(linearized, slot.index);
    else counts[slot.group] += delta;
  };
  const failed = new FailedConfigs();
  const stack: { event: number; state: number }[] = [];
  let requiredLeft = bits;
  let state = ABSENT;
  let entry = next[0];
  let steps = 0;
  let longest: number[] = [];
  let longestLength = -1;
  let stuckAt: number | null = null;
  const deadlineMs = options.deadlineMs ?? Infinity;
  const cacheMax = options.cacheMax ?? CACHE_MAX;

  while (requiredLeft > 0) {
    steps++;
    if (steps % DEADLINE_CHECK_EVERY === 0 && performance.now() > deadlineMs) {
      return { type: "unknown", steps, reason: "deadline passed" };
    }
    if (entry <= m && events[entry - 1].call) {
      const op = events[entry - 1].op;
      const slot = slots[op];
      let after = step(state, ops[op].op);
      // An indeterminate operation is tried only as the next of its group, and only where it
      // changes the state: one that changes nothing might as well never have happened.
      if (slot.type === "group" && (counts[slot.group] !== slot.rank || after === state)) {
        after = null;
      }
      if (after !== null) {
        mark(op, 1);
        if (!failed.covers(failed.key(after, linearized), counts)) {
          stack.push({ event: entry, state });
          state = after;
          lift(entry);
          if (returnOf[op] !== -1) {
            lift(returnOf[op]);
            requiredLeft--;
          }
          entry = next[0];
          continue;
        }
        mark(op, -1);
      }
      entry = next[entry];
      continue;
    }
    // The return of an operation not yet linearized (or the end of the list): this
    // configuration is exhausted; undo the latest choice and try the next candidate after it.
    if (stack.length > longestLength) {
      longestLength = stack.length;
      longest = stack.map((s) => ops[events[s.event - 1].op].id);
      stuckAt = entry <= m ? ops[events[entry - 1].op].id : null;
    }
    if (failed.size >= cacheMax) {
      return { type: "unknown", steps, reason: `more than ${cacheMax} configurations` };
    }
    failed.add(failed.key(state, linearized), counts);
    const top = stack.pop();
    if (top === undefined) return { type: "violation", steps, longest, stuckAt };
    const op = events[top.event - 1].op;
    state = top.state;
    mark(op, -1);
    if (returnOf[op] !== -1) {
      unlift(returnOf[op]);
      requiredLeft++;
    }
    unlift(top.event);
    entry = next[top.event];
  }
  return { type: "linearizable", steps };
}

function flip(bits: Uint32Array, i: number): void {
  bits[i >>> 5] ^= 1 << (i & 31);
}

/** Call and return events in time order; at equal times calls first (they overlap). */
function buildEvents(ops: readonly CheckOp[]): Event[] {
  const events: Event[] = [];
  ops.forEach((op, i) => {
    events.push({ op: i, call: true, timeMs: op.invokeMs });
    if (op.completeMs !== null) {
      if (op.completeMs < op.invokeMs) {
        throw new Error(`op ${op.id} completes (${op.completeMs}) before it starts`);
      }
      events.push({ op: i, call: false, timeMs: op.completeMs });
    }
  });
  events.sort((a, b) => a.timeMs - b.timeMs || Number(b.call) - Number(a.call));
  return events;
}

export interface PartitionResult {
  key: string;
  ops: number;
  result: CheckResult;
  elapsedMs: number;
}

/** Checks every key's history; each key gets what is left of the overall deadline. */
export function checkPartitioned(
  partitions: ReadonlyMap<string, readonly CheckOp[]>,
  options: CheckOptions = {},
): PartitionResult[] {
  const results: PartitionResult[] = [];
  const keys = [...partitions.keys()].sort();
  for (const key of keys) {
    const ops = partitions.get(key)!;
    const started = performance.now();
    const result = checkRegister(ops, options);
    results.push({ key, ops: ops.length, result, elapsedMs: performance.now() - started });
  }
  return results;
}
