// RaftStorage on Deno KV (SQLite, WAL, one fsync per commit: DURABILITY.md).
//
// Writes are lists of mutations committed in order, packed into as few atomic commits as
// the limits allow (kv_batch.ts). The order makes every crash point a valid state:
// - append: delete the replaced suffix top-down, then write entries in index order (a
//   chunked entry's chunks before its header), then the hard state.
// - saveSnapshot: write the data chunks under a new generation, switch ["snap"] to it,
//   then delete the compacted (or conflicting, top-down) log and the old generation.
// - staging: stageSnapshot writes a ["stage"] header for a fresh generation (after deleting
//   any other staged one); writeStaged writes chunks, then the header with the new count;
//   installStaged switches ["snap"] to the staged generation and deletes ["stage"], then
//   continues as saveSnapshot does.
// readLog (kv_load.ts) accepts the contiguous run of headers after the snapshot and
// deletes the debris of any interrupted list.

import { dirname } from "node:path";
import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/types.ts";
import { type CommitCounter, commitOps, del, type KvOp, setBytes, setObject } from "./kv_batch.ts";
import {
  chunksOf,
  decodeChunk,
  encodeInlineEntry,
  HS_KEY,
  INLINE_BYTES_MAX,
  joinChunks,
  keyIndex,
  logChunkKey,
  type LogHeader,
  logKey,
  metaOf,
  SNAP_CHUNK_PREFIX,
  SNAP_KEY,
  snapChunkKey,
  type SnapHeader,
  STAGE_KEY,
  type StageHeader,
  StorageCorruptError,
} from "./kv_layout.ts";
import { type KvLogState, readChunks, readLog } from "./kv_load.ts";
import {
  checkAppend,
  checkChunkRange,
  checkCompact,
  checkSnapshot,
  copyHardState,
  copyMeta,
  type LogShape,
  type RaftStorage,
  sameSnapshot,
  SNAPSHOT_CHUNK_BYTES,
  type SnapshotId,
  type SnapshotInfo,
  snapshotMatchesLog,
  stagedComplete,
  stagedWritable,
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
      const { meta, data } = snapshot;
      checkSnapshot(this.#shape(), meta);
      const chunks = chunksOf(data);
      const header: SnapHeader = {
        gen: this.#nextGen(),
        ...copyMeta(meta),
        chunks: chunks.length,
        bytes: data.length,
      };
      const ops: KvOp[] = chunks.map((c, i) => setBytes(snapChunkKey(header.gen, i), c));
      await this.#switchSnapshot(header, ops);
    });
  }

  snapshotInfo(): { current: SnapshotInfo | null; staged: SnapshotInfo | null } {
    const info = (h: SnapHeader | StageHeader | null) =>
      h === null ? null : { index: h.index, term: h.term, bytes: h.bytes };
    return { current: info(this.#state.snap), staged: info(this.#state.stage) };
  }

  readSnapshot(id: SnapshotId, offset: number, maxBytes: number): Promise<Uint8Array | null> {
    return this.#run(false, async () => {
      checkChunkRange(offset, maxBytes);
      const { snap: current, stage } = this.#state;
      const snap = sameSnapshot(current, id) ? current : sameSnapshot(stage, id) ? stage : null;
      if (snap === null) return null;
      const first = offset / SNAPSHOT_CHUNK_BYTES;
      const end = Math.min(snap.chunks, first + maxBytes / SNAPSHOT_CHUNK_BYTES);
      if (first >= end) return new Uint8Array(0);
      const parts: Uint8Array[] = [];
      const selector = { start: snapChunkKey(snap.gen, first), end: snapChunkKey(snap.gen, end) };
      for await (const e of this.#kv.list(selector, { batchSize: Math.min(end - first, 1000) })) {
        if (keyIndex(e.key, 2) !== first + parts.length) break;
        parts.push(decodeChunk(e.key, e.value));
      }
      const bytes = Math.min(snap.bytes, end * SNAPSHOT_CHUNK_BYTES) - offset;
      const data = parts.length === end - first ? joinChunks(parts, bytes) : null;
      if (data === null) throw new StorageCorruptError(SNAP_KEY, "snapshot chunks missing");
      return data;
    });
  }

  stageSnapshot(id: SnapshotId): Promise<number> {
    return this.#run(true, async () => {
      const old = this.#state.stage;
      if (old !== null && sameSnapshot(old, id)) return old.bytes;
      const ops: KvOp[] = [];
      const stage: StageHeader = {
        gen: this.#nextGen(),
        index: id.index,
        term: id.term,
        chunks: 0,
        bytes: 0,
      };
      ops.push(setObject(STAGE_KEY, stage, 0));
      // After the new header: a crash in between leaves the old chunks to the repair at open.
      if (old !== null) {
        for await (const e of this.#kv.list({ prefix: [...SNAP_CHUNK_PREFIX, old.gen] })) {
          ops.push(del(e.key));
        }
      }
      await commitOps(this.#kv, ops, this.#counter);
      this.#state.stage = stage;
      return 0;
    });
  }

  writeStaged(id: SnapshotId, offset: number, data: Uint8Array): Promise<boolean> {
    return this.#run(true, async () => {
      const stage = this.#state.stage;
      if (!stagedWritable(stage, id, offset)) return false;
      const chunks = chunksOf(data);
      const ops = chunks.map((c, i) => setBytes(snapChunkKey(stage!.gen, stage!.chunks + i), c));
      const next: StageHeader = {
        ...stage!,
        chunks: stage!.chunks + chunks.length,
        bytes: stage!.bytes + data.length,
      };
      ops.push(setObject(STAGE_KEY, next, 0)); // last: the chunks before it are now staged
      await commitOps(this.#kv, ops, this.#counter);
      this.#state.stage = next;
      return true;
    });
  }

  installStaged(meta: SnapshotMeta, bytes: number): Promise<boolean> {
    return this.#run(true, async () => {
      const stage = this.#state.stage;
      if (!stagedComplete(stage, meta, bytes)) return false;
      checkSnapshot(this.#shape(), meta);
      const header: SnapHeader = {
        gen: stage!.gen,
        ...copyMeta(meta),
        chunks: stage!.chunks,
        bytes: stage!.bytes,
      };
      await this.#switchSnapshot(header, [], [del(STAGE_KEY)]);
      this.#state.stage = null;
      return true;
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

  /** Writes `before`, switches ["snap"] to `header`, writes `after`, then drops the log the
   * snapshot covers (or all of it, if it conflicts) and the previous generation. */
  async #switchSnapshot(header: SnapHeader, before: KvOp[], after: KvOp[] = []): Promise<void> {
    const shape = this.#shape();
    const matches = snapshotMatchesLog(shape, header);
    const old = this.#state.snap;
    const ops = [...before, setObject(SNAP_KEY, header, configBytes(header)), ...after];
    // After the switch. A conflicting log goes top-down so that its entry at meta.index,
    // which tells readLog to drop the rest, is the last to go.
    const dropTo = matches ? Math.min(header.index, shape.lastIndex) : shape.lastIndex;
    this.#pushDeletes(ops, shape.snapIndex + 1, dropTo);
    if (old !== null && old.gen !== header.gen) {
      for (let i = 0; i < old.chunks; i++) ops.push(del(snapChunkKey(old.gen, i)));
    }
    await commitOps(this.#kv, ops, this.#counter);
    this.#afterSnapshot(header, dropTo);
  }

  /** A chunk generation no snapshot, current or staged, uses. */
  #nextGen(): number {
    return Math.max(this.#state.snap?.gen ?? 0, this.#state.stage?.gen ?? 0) + 1;
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
    ops.push(setBytes(logKey(e.index), encodeInlineEntry(e.term, e.type, e.data)));
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
