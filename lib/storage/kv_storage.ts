// RaftStorage on Deno KV (SQLite, WAL, one fsync per commit: DURABILITY.md).
//
// Writes are lists of mutations committed in order, packed into as few atomic commits as
// the limits allow (kv_batch.ts). The order makes every crash point a valid state:
// - append: delete the replaced suffix top-down, then write entries in index order (a
//   chunked entry's chunks before its header), then the hard state.
// - saveSnapshot: write the data chunks under a new generation, switch ["snap"] to it,
//   then delete the compacted (or conflicting, top-down) log and the old generation.
// readLog (kv_load.ts) accepts the contiguous run of headers after the snapshot and
// deletes the debris of any interrupted list.

import { dirname } from "node:path";
import type { Entry, HardState, Snapshot } from "../raft/types.ts";
import { type CommitCounter, commitOps, del, type KvOp, setBytes, setObject } from "./kv_batch.ts";
import {
  chunksOf,
  HS_KEY,
  INLINE_BYTES_MAX,
  logChunkKey,
  type LogHeader,
  logKey,
  metaOf,
  ownBytes,
  SNAP_CHUNK_PREFIX,
  SNAP_KEY,
  snapChunkKey,
  type SnapHeader,
  StorageCorruptError,
} from "./kv_layout.ts";
import { type KvLogState, readChunks, readLog } from "./kv_load.ts";
import {
  checkAppend,
  checkCompact,
  checkSnapshot,
  copyHardState,
  copyMeta,
  type LogShape,
  type RaftStorage,
  snapshotMatchesLog,
  statsOf,
  StorageContractError,
  type StorageStats,
  type StoredState,
  termAt,
} from "./storage.ts";

export class KvStorage implements RaftStorage {
  readonly #kv: Deno.Kv;
  #state: KvLogState;
  /** What open() read, handed out by the first load() unless a write came first. */
  #opened: StoredState | null;
  /** Calls run one at a time, in call order: each write plans from the state it leaves. */
  #queue: Promise<void> = Promise.resolve();
  #failure: unknown = null;
  #closed = false;
  readonly #counter: CommitCounter;

  private constructor(kv: Deno.Kv, state: KvLogState, opened: StoredState, c: CommitCounter) {
    this.#kv = kv;
    this.#state = state;
    this.#opened = opened;
    this.#counter = c;
  }

  /** Opens (creating if needed) the database at `path` (a file, or ":memory:") and reads
   * it, repairing what a crash left behind. */
  static async open(path: string): Promise<KvStorage> {
    if (path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
    const kv = await Deno.openKv(path);
    const counter: CommitCounter = { commits: 0, commitMsTotal: 0 };
    try {
      const { state, stored } = await readLog(kv, counter);
      return new KvStorage(kv, state, stored, counter);
    } catch (err) {
      kv.close();
      throw err;
    }
  }

  load(): Promise<StoredState> {
    return this.#run(false, async () => {
      const opened = this.#opened;
      this.#opened = null;
      if (opened !== null) return opened;
      const { state, stored } = await readLog(this.#kv, this.#counter);
      this.#state = state;
      return stored;
    });
  }

  append(entries: Entry[], hardState: HardState | null): Promise<void> {
    return this.#run(true, async () => {
      const shape = this.#shape();
      checkAppend(shape, entries);
      const ops: KvOp[] = [];
      let cutFrom = shape.lastIndex + 1;
      let fresh: Entry[] = [];
      if (entries.length > 0) {
        // Entries the log already holds (same index and term: Log Matching says same
        // entry) are not rewritten, so a crash cannot lose what was acknowledged before.
        let k = 0;
        while (k < entries.length && termAt(shape, entries[k].index) === entries[k].term) k++;
        fresh = entries.slice(k);
        cutFrom = k < entries.length ? entries[k].index : entries[k - 1].index + 1;
        this.#pushDeletes(ops, cutFrom, shape.lastIndex);
        for (const e of fresh) pushEntry(ops, e);
      }
      if (hardState !== null) {
        const hs = copyHardState(hardState);
        ops.push(setObject(HS_KEY, hs, 2 * (hs.votedFor?.length ?? 0)));
      }
      await commitOps(this.#kv, ops, this.#counter);
      this.#afterAppend(cutFrom, fresh);
    });
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.#run(true, async () => {
      const shape = this.#shape();
      const { meta, data } = snapshot;
      checkSnapshot(shape, meta);
      const matches = snapshotMatchesLog(shape, meta);
      const old = this.#state.snap;
      const chunks = chunksOf(data);
      const header: SnapHeader = {
        gen: (old?.gen ?? 0) + 1,
        ...copyMeta(meta),
        chunks: chunks.length,
        bytes: data.length,
      };
      const ops: KvOp[] = chunks.map((c, i) => setBytes(snapChunkKey(header.gen, i), c));
      ops.push(setObject(SNAP_KEY, header, configBytes(header)));
      // After the switch. A conflicting log goes top-down so that its entry at meta.index,
      // which tells readLog to drop the rest, is the last to go.
      const dropTo = matches ? Math.min(meta.index, shape.lastIndex) : shape.lastIndex;
      this.#pushDeletes(ops, shape.snapIndex + 1, dropTo);
      if (old !== null) {
        for (let i = 0; i < old.chunks; i++) ops.push(del(snapChunkKey(old.gen, i)));
      }
      await commitOps(this.#kv, ops, this.#counter);
      this.#afterSnapshot(header, dropTo);
    });
  }

  loadSnapshot(): Promise<Snapshot | null> {
    return this.#run(false, async () => {
      const snap = this.#state.snap;
      if (snap === null) return null;
      const data = await readChunks(this.#kv, [...SNAP_CHUNK_PREFIX, snap.gen], snap);
      if (data === null) throw new StorageCorruptError(SNAP_KEY, "snapshot chunks missing");
      return { meta: metaOf(snap), data };
    });
  }

  compact(index: number): Promise<void> {
    // saveSnapshot already dropped everything at or below the snapshot: only check.
    return this.#run(false, () => Promise.resolve(checkCompact(this.#shape(), index)));
  }

  stats(): StorageStats {
    return statsOf(this.#shape(), this.#counter.commits, this.#counter.commitMsTotal);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#kv.close();
  }

  #run<T>(writes: boolean, f: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.#closed) throw new Error("KvStorage is closed");
      if (this.#failure !== null) {
        throw new Error("KvStorage failed a write earlier; reopen it", { cause: this.#failure });
      }
      if (writes) this.#opened = null;
      try {
        return await f();
      } catch (err) {
        // A refused call changed nothing; any other failure may have left some commits of
        // a write applied and others not, so the in-memory view can no longer be trusted.
        if (writes && !(err instanceof StorageContractError)) this.#failure = err;
        throw err;
      }
    };
    const p = this.#queue.then(run);
    this.#queue = p.then(() => {}, () => {});
    return p;
  }

  #shape(): LogShape {
    const snapIndex = this.#state.snap?.index ?? 0;
    const terms = this.#state.terms;
    return {
      snapIndex,
      snapTerm: this.#state.snap?.term ?? 0,
      lastIndex: snapIndex + terms.length,
      entryTerm: (index) => terms[index - snapIndex - 1],
    };
  }

  /** Deletes entries hi down to lo: each header before its chunks. */
  #pushDeletes(ops: KvOp[], lo: number, hi: number): void {
    for (let index = hi; index >= lo; index--) {
      ops.push(del(logKey(index)));
      const chunks = this.#state.chunked.get(index) ?? 0;
      for (let i = 0; i < chunks; i++) ops.push(del(logChunkKey(index, i)));
    }
  }

  #afterAppend(cutFrom: number, fresh: Entry[]): void {
    const st = this.#state;
    const snapIndex = st.snap?.index ?? 0;
    for (let index = cutFrom; index <= snapIndex + st.terms.length; index++) {
      st.chunked.delete(index);
    }
    st.terms.length = Math.min(st.terms.length, cutFrom - snapIndex - 1);
    for (const e of fresh) {
      st.terms.push(e.term);
      if (e.data.length > INLINE_BYTES_MAX) st.chunked.set(e.index, chunksOf(e.data).length);
    }
  }

  #afterSnapshot(header: SnapHeader, dropTo: number): void {
    const st = this.#state;
    const snapIndex = st.snap?.index ?? 0;
    for (let index = snapIndex + 1; index <= dropTo; index++) st.chunked.delete(index);
    st.terms = st.terms.slice(dropTo - snapIndex);
    st.snap = header;
  }
}

/** Chunks first, header last: the header is what makes the entry exist. */
function pushEntry(ops: KvOp[], e: Entry): void {
  if (e.data.length <= INLINE_BYTES_MAX) {
    // V8 serializes a view's whole backing buffer (e.g. a whole decoded frame): copy it.
    const header: LogHeader = {
      term: e.term,
      type: e.type,
      data: ownBytes(e.data),
      chunks: 0,
      bytes: e.data.length,
    };
    ops.push(setObject(logKey(e.index), header, e.data.length));
    return;
  }
  const chunks = chunksOf(e.data);
  chunks.forEach((c, i) => ops.push(setBytes(logChunkKey(e.index, i), c)));
  const header: LogHeader = {
    term: e.term,
    type: e.type,
    data: null,
    chunks: chunks.length,
    bytes: e.data.length,
  };
  ops.push(setObject(logKey(e.index), header, 0));
}

function configBytes(h: SnapHeader): number {
  const ids = [...h.config.voters, ...h.config.learners];
  return ids.reduce((n, id) => n + 2 * id.length + 16, 0);
}
