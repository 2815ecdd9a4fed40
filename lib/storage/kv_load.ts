// Reading the log back from Deno KV, and repairing what a crash left behind.
//
// Valid state on disk is: hard state, snapshot header + its chunk generation, the staged
// snapshot's header + its generation, and log headers at snapIndex+1, +2, ... up to the
// first gap. Everything else is debris of a crash
// between two commits (see the write order in kv_storage.ts) and is deleted here, so that
// a later append cannot make a stale entry contiguous again.

import type { Entry, HardState } from "../raft/types.ts";
import { type CommitCounter, commitOps, del, type KvOp } from "./kv_batch.ts";
import {
  decodeChunk,
  decodeHardState,
  decodeLogHeader,
  decodeSnapHeader,
  decodeStageHeader,
  HS_KEY,
  joinChunks,
  keyIndex,
  LOG_CHUNK_PREFIX,
  LOG_PREFIX,
  type LogHeader,
  logKey,
  metaOf,
  SNAP_CHUNK_PREFIX,
  SNAP_KEY,
  type SnapHeader,
  STAGE_KEY,
  type StageHeader,
} from "./kv_layout.ts";
import { copyHardState, EMPTY_HARD_STATE, type StoredState } from "./storage.ts";

/** What KvStorage keeps in memory to write without reading: terms and chunked entries. */
export interface KvLogState {
  snap: SnapHeader | null;
  stage: StageHeader | null;
  /** terms[i] is the term of entry snapIndex + 1 + i. */
  terms: number[];
  /** index -> chunk count, for entries whose data lives in chunks. */
  chunked: Map<number, number>;
}

const LIST_BATCH = 1000; // Deno KV's maximum
const CHUNK_LIST_BATCH = 64; // 64 chunks of 64 KiB per round trip

interface Found {
  index: number;
  header: LogHeader;
}

export async function readLog(
  kv: Deno.Kv,
  counter: CommitCounter,
): Promise<{ state: KvLogState; stored: StoredState }> {
  const hardState = await readHardState(kv);
  const snapEntry = await kv.get(SNAP_KEY);
  const snap = snapEntry.value === null ? null : decodeSnapHeader(SNAP_KEY, snapEntry.value);
  const stageEntry = await kv.get(STAGE_KEY);
  let stage = stageEntry.value === null ? null : decodeStageHeader(STAGE_KEY, stageEntry.value);
  // Installed, but the crash came before its stage header was deleted; or overtaken by a newer
  // snapshot of our own: nothing worth resuming is staged.
  const installed = stage !== null &&
    (stage.gen === snap?.gen || stage.index <= (snap?.index ?? 0));
  if (installed) stage = null;
  const { accepted, stale } = await scanHeaders(kv, snap);
  const entries = await materialize(kv, accepted, stale);
  const state: KvLogState = { snap, stage, terms: [], chunked: new Map() };
  for (const { index, header } of accepted) {
    state.terms.push(header.term);
    if (header.chunks > 0) state.chunked.set(index, header.chunks);
  }
  const lastIndex = (snap?.index ?? 0) + entries.length;
  const repairs = await repairOps(kv, snap, stage, lastIndex, stale);
  if (installed) repairs.push(del(STAGE_KEY));
  await commitOps(kv, repairs, counter);
  return { state, stored: { hardState, snapshot: snap === null ? null : metaOf(snap), entries } };
}

async function readHardState(kv: Deno.Kv): Promise<HardState> {
  const hs = await kv.get(HS_KEY);
  return hs.value === null ? copyHardState(EMPTY_HARD_STATE) : decodeHardState(HS_KEY, hs.value);
}

/** Headers after the snapshot up to the first gap are accepted; the rest is stale. */
async function scanHeaders(
  kv: Deno.Kv,
  snap: SnapHeader | null,
): Promise<{ accepted: Found[]; stale: Found[] }> {
  const snapIndex = snap?.index ?? 0;
  const snapTerm = snap?.term ?? 0;
  const accepted: Found[] = [];
  const stale: Found[] = [];
  let expected = snapIndex + 1;
  let broken = false;
  for await (const e of kv.list({ prefix: LOG_PREFIX }, { batchSize: LIST_BATCH })) {
    const found = { index: keyIndex(e.key, 1), header: decodeLogHeader(e.key, e.value) };
    if (found.index <= snapIndex) {
      // A log that disagrees with the snapshot at its index was being dropped when we
      // crashed (saveSnapshot deletes it top-down, so this entry goes last): drop the rest.
      if (found.index === snapIndex && found.header.term !== snapTerm) broken = true;
      stale.push(found);
    } else if (!broken && found.index === expected) {
      accepted.push(found);
      expected++;
    } else {
      broken = true;
      stale.push(found);
    }
  }
  return { accepted, stale };
}

/** Builds the entries, reading chunks; an entry with missing chunks ends the log (torn). */
async function materialize(kv: Deno.Kv, accepted: Found[], stale: Found[]): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (let i = 0; i < accepted.length; i++) {
    const { index, header } = accepted[i];
    const data = header.data ?? await readChunks(kv, [...LOG_CHUNK_PREFIX, index], header);
    if (data === null) {
      stale.push(...accepted.splice(i));
      break;
    }
    entries.push({ term: header.term, index, type: header.type, data });
  }
  return entries;
}

/** Chunks 0..chunks-1 under `prefix` joined into one fresh buffer, or null if torn. */
export async function readChunks(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  want: { chunks: number; bytes: number },
): Promise<Uint8Array | null> {
  if (want.chunks === 0) return want.bytes === 0 ? new Uint8Array(0) : null;
  const parts: Uint8Array[] = [];
  const it = kv.list({ prefix }, { batchSize: CHUNK_LIST_BATCH });
  for await (const e of it) {
    if (parts.length === want.chunks) break;
    if (keyIndex(e.key, prefix.length) !== parts.length) return null;
    parts.push(decodeChunk(e.key, e.value));
  }
  return parts.length === want.chunks ? joinChunks(parts, want.bytes) : null;
}

/** Deletes, top-down so a crash mid-repair still leaves a valid state: stale headers, then
 * chunks outside the live log, then snapshot generations other than the current and the
 * staged one. */
async function repairOps(
  kv: Deno.Kv,
  snap: SnapHeader | null,
  stage: StageHeader | null,
  lastIndex: number,
  stale: Found[],
): Promise<KvOp[]> {
  const ops: KvOp[] = [];
  const descending = [...stale].sort((a, b) => b.index - a.index);
  for (const { index } of descending) ops.push(del(logKey(index)));
  const snapIndex = snap?.index ?? 0;
  const chunkRanges: Deno.KvListSelector[] = [
    { prefix: LOG_CHUNK_PREFIX, start: [...LOG_CHUNK_PREFIX, lastIndex + 1] },
    { prefix: LOG_CHUNK_PREFIX, end: [...LOG_CHUNK_PREFIX, snapIndex + 1] },
  ];
  chunkRanges.push(...gensOutside([snap?.gen, stage?.gen]));
  for (const selector of chunkRanges) {
    for await (const e of kv.list(selector, { batchSize: CHUNK_LIST_BATCH })) ops.push(del(e.key));
  }
  return ops;
}

/** Selectors for every snapshot chunk generation except `keep` (without reading those). */
function gensOutside(keep: (number | undefined)[]): Deno.KvListSelector[] {
  const gens = [...new Set(keep.filter((g) => g !== undefined))].sort((a, b) => a - b);
  const selectors: Deno.KvListSelector[] = [];
  let from: number | null = null; // the first generation of the current gap; null: from -inf
  for (const gen of gens) {
    const end = [...SNAP_CHUNK_PREFIX, gen];
    selectors.push(
      from === null ? { prefix: SNAP_CHUNK_PREFIX, end } : {
        start: [...SNAP_CHUNK_PREFIX, from],
        end,
      },
    );
    from = gen + 1;
  }
  selectors.push(
    from === null
      ? { prefix: SNAP_CHUNK_PREFIX }
      : { prefix: SNAP_CHUNK_PREFIX, start: [...SNAP_CHUNK_PREFIX, from] },
  );
  return selectors;
}
