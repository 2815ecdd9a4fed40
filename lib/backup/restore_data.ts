// Turning a backup image into the data directories of a new cluster: every node of the
// cluster file gets `<data>/<id>/raft.kv` holding the image as its Raft snapshot, exactly as
// if it had compacted its log at the backup's index, plus a hard state that agrees with it.
//
// Why this is a valid Raft state (lib/raft/log.ts): a log may begin right after a snapshot;
// the snapshot's index is committed (commitIndex = meta.index) and applied (the core starts
// lastApplied at the snapshot, the shell restores the state machine from its image, whose
// appliedIndex is that same index). Every node holds the same snapshot at the same (index,
// term), so logs match there and any node can win the first election, which moves to term
// RESTORED_TERM + 1 and appends its no-op at index + 1: new writes get revisions above the
// backup's. Membership comes from the cluster file, with each member's address in its config
// context, exactly as a fresh node's bootstrap configuration (lib/replica/replica.ts).

import { join } from "node:path";
import type { ClusterConfig } from "../config/mod.ts";
import type { ConfigState, HardState, Snapshot, SnapshotMeta } from "../raft/types.ts";
import { encodeAddress } from "../replica/members.ts";
import { KvStorage } from "../storage/mod.ts";

/** The term of the restored snapshot and hard state: the first election moves past it. */
export const RESTORED_TERM = 1;

/** What a node keeps in its data directory (Deno KV: SQLite with its WAL and shared memory). */
export const DATA_FILES: readonly string[] = ["raft.kv", "raft.kv-wal", "raft.kv-shm"];

/** Every member of the cluster file as a voter, with its address as the member's context. */
export function restoredConfig(config: ClusterConfig): ConfigState {
  const contexts: Record<string, string> = {};
  for (const node of config.nodes) {
    contexts[node.id] = encodeAddress({
      client: node.client,
      peer: node.peer,
      text: node.text ?? null,
    });
  }
  const voters = config.nodes.map((node) => node.id).sort();
  return { voters, learners: [], contexts };
}

/** The snapshot meta and hard state each restored node starts from. */
export function restoredState(
  appliedIndex: number,
  config: ClusterConfig,
): { meta: SnapshotMeta; hardState: HardState } {
  if (!Number.isSafeInteger(appliedIndex) || appliedIndex < 1) {
    throw new RangeError(`restoredState: appliedIndex ${appliedIndex} must be >= 1`);
  }
  return {
    meta: { index: appliedIndex, term: RESTORED_TERM, config: restoredConfig(config) },
    hardState: { term: RESTORED_TERM, votedFor: null, commitIndex: appliedIndex },
  };
}

export type TargetCheck =
  | { type: "absent" }
  | { type: "empty" }
  /** Holds a node's data (DATA_FILES only): replaced only with --force. */
  | { type: "occupied"; files: string[] }
  | { type: "error"; message: string };

/** What lies at a node's data directory now; never changes anything. */
export async function checkTarget(dir: string): Promise<TargetCheck> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { type: "absent" };
    return { type: "error", message: `${dir}: cannot read: ${messageOf(err)}` };
  }
  if (!info.isDirectory) return { type: "error", message: `${dir}: not a directory` };
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) files.push(entry.name);
  files.sort();
  if (files.length === 0) return { type: "empty" };
  const foreign = files.filter((name) => !DATA_FILES.includes(name));
  if (foreign.length > 0) {
    return {
      type: "error",
      message: `${dir} holds files that are not raftkv data (${foreign.slice(0, 3).join(", ")}${
        foreign.length > 3 ? ", …" : ""
      }); move them away first`,
    };
  }
  return { type: "occupied", files };
}

/**
 * Writes `<dir>/raft.kv` holding `snapshot` and `hardState`, replacing what `existing` found
 * there. The database is built in a sibling directory, read back and checked, and only then
 * moved into place, so an interrupted restore never leaves a half-written node behind.
 */
export async function writeNodeData(
  dir: string,
  snapshot: Snapshot,
  hardState: HardState,
  existing: TargetCheck,
): Promise<void> {
  const staging = `${dir}.restoring`;
  await Deno.remove(staging, { recursive: true }).catch(ignoreNotFound);
  await Deno.mkdir(staging, { recursive: true });
  const path = join(staging, "raft.kv");
  const storage = await KvStorage.open(path);
  try {
    await storage.saveSnapshot(snapshot);
    await storage.append([], hardState);
  } finally {
    storage.close();
  }
  await verify(path, snapshot, hardState);
  if (existing.type === "occupied") {
    for (const name of existing.files) await Deno.remove(join(dir, name)).catch(ignoreNotFound);
  }
  if (existing.type !== "absent") await Deno.remove(dir);
  await Deno.rename(staging, dir);
}

/** Reads the new database back as a node would at start, and compares. */
async function verify(path: string, snapshot: Snapshot, hardState: HardState): Promise<void> {
  const storage = await KvStorage.open(path);
  try {
    const stored = await storage.load();
    const loaded = await storage.loadSnapshot();
    const ok = stored.snapshot?.index === snapshot.meta.index &&
      stored.snapshot.term === snapshot.meta.term &&
      stored.entries.length === 0 &&
      stored.hardState.term === hardState.term &&
      stored.hardState.commitIndex === hardState.commitIndex &&
      loaded !== null && sameBytes(loaded.data, snapshot.data);
    if (!ok) throw new Error(`${path}: read back differs from what was written`);
  } finally {
    storage.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof Deno.errors.NotFound)) throw err;
}

export function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").trim();
}
