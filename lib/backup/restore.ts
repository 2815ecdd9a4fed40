// `deno task restore --from FILE [--config nodes.json] [--data DIR] [--force]` (API.md §2-3):
// builds a new cluster's data directories from a backup taken with GET /v1/snapshot. Every
// check runs before anything is written; a bad flag, file or target prints one line
// `raftkv: restore: ...` and exits 2. Then `deno task cluster --config F --data DIR` starts the
// cluster serving the restored data.

import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadClusterConfig } from "../config/mod.ts";
import type { ClusterConfig } from "../config/mod.ts";
import { KvStateMachine } from "../kv/mod.ts";
import { type Write, writeToConsole } from "../launcher/output.ts";
import { type Backup, BACKUP_BYTES_MAX, decodeBackup } from "./format.ts";
import {
  checkTarget,
  messageOf,
  restoredState,
  type TargetCheck,
  writeNodeData,
} from "./restore_data.ts";

export const RESTORE_USAGE = `usage: deno task restore --from FILE [flags]
  --from FILE        a backup taken with GET /v1/snapshot (required)
  --config FILE      the new cluster's file (default nodes.json)
  --data DIR         root of the per-node data directories (default data)
  --force            replace existing node data in DIR/<id>`;

export interface RestoreArgs {
  from: string;
  configPath: string;
  dataDir: string;
  force: boolean;
}

export type RestoreArgsResult =
  | { type: "ok"; args: RestoreArgs }
  | { type: "help" }
  | { type: "error"; message: string };

const RESTORE_FLAGS = {
  from: { type: "string" },
  config: { type: "string" },
  data: { type: "string" },
  force: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Strict: a misspelt flag stops the command instead of being ignored. Throws on a bad one. */
function parseFlags(argv: readonly string[]) {
  const args = [...argv];
  return parseArgs({ args, strict: true, allowPositionals: false, options: RESTORE_FLAGS }).values;
}

export function parseRestoreArgs(argv: readonly string[]): RestoreArgsResult {
  let values: ReturnType<typeof parseFlags>;
  try {
    values = parseFlags(argv);
  } catch (err) {
    return { type: "error", message: `${messageOf(err)} (try --help)` };
  }
  if (values.help) return { type: "help" };
  if (values.from === undefined || values.from === "") {
    return { type: "error", message: "--from FILE is required (try --help)" };
  }
  return {
    type: "ok",
    args: {
      from: values.from,
      configPath: values.config ?? "nodes.json",
      dataDir: values.data ?? "data",
      force: values.force ?? false,
    },
  };
}

class UsageError extends Error {}

/** Runs the command; resolves to the exit code (0 done, 1 failed while writing, 2 refused). */
export async function runRestore(
  argv: readonly string[],
  write: Write = writeToConsole,
): Promise<number> {
  const parsed = parseRestoreArgs(argv);
  if (parsed.type === "help") {
    write("stdout", `${RESTORE_USAGE}\n`);
    return 0;
  }
  try {
    if (parsed.type === "error") throw new UsageError(parsed.message);
    await restore(parsed.args, write);
    return 0;
  } catch (err) {
    const code = err instanceof UsageError ? 2 : 1;
    write("stderr", `raftkv: restore: ${messageOf(err)}\n`);
    return code;
  }
}

async function restore(args: RestoreArgs, write: Write): Promise<void> {
  const loaded = await loadClusterConfig(args.configPath);
  if (loaded.type === "error") throw new UsageError(loaded.message);
  const config = loaded.config;
  const backup = await readBackup(args.from);
  const sm = checkImage(args.from, backup);
  const targets = await checkTargets(config, args);
  const { meta, hardState } = restoredState(backup.appliedIndex, config);
  const snapshot = { meta, data: backup.image };
  for (const [id, target] of targets) {
    await writeNodeData(join(args.dataDir, id), snapshot, hardState, target);
  }
  write(
    "stdout",
    `restored ${args.from} (appliedIndex ${backup.appliedIndex}, revision ${backup.revision}, ` +
      `${sm.size} keys, ${backup.image.length} bytes, sha256 ${backup.sha256.slice(0, 16)}…) ` +
      `for cluster "${config.cluster}" into ${
        [...targets.keys()].map((id) => join(args.dataDir, id)).join(", ")
      }\n` +
      `start it with: deno task cluster --config ${args.configPath} --data ${args.dataDir}\n`,
  );
}

async function readBackup(path: string): Promise<Backup> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new UsageError(`${path}: not a regular file`);
    if (info.size > BACKUP_BYTES_MAX) {
      throw new UsageError(`${path}: ${info.size} bytes is over the limit of ${BACKUP_BYTES_MAX}`);
    }
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof Deno.errors.NotFound) throw new UsageError(`${path}: file not found`);
    throw new UsageError(`${path}: cannot read: ${messageOf(err)}`);
  }
  const decoded = await decodeBackup(bytes);
  if (decoded.type === "error") throw new UsageError(`${path}: ${decoded.reason}`);
  return decoded.backup;
}

/** The image must decode as a state machine at the index and revision the header states. */
function checkImage(path: string, backup: Backup): KvStateMachine {
  let sm: KvStateMachine;
  try {
    sm = KvStateMachine.restore(backup.image);
  } catch (err) {
    throw new UsageError(`${path}: the state-machine image is invalid: ${messageOf(err)}`);
  }
  if (sm.appliedIndex !== backup.appliedIndex || sm.revision !== backup.revision) {
    throw new UsageError(
      `${path}: the header says index ${backup.appliedIndex} revision ${backup.revision}, ` +
        `the image ${sm.appliedIndex} and ${sm.revision}`,
    );
  }
  if (backup.appliedIndex < 1) throw new UsageError(`${path}: an empty backup (index 0)`);
  return sm;
}

/** Every node's directory, checked before any is written. */
async function checkTargets(
  config: ClusterConfig,
  args: RestoreArgs,
): Promise<Map<string, TargetCheck>> {
  const targets = new Map<string, TargetCheck>();
  for (const node of config.nodes) {
    const dir = join(args.dataDir, node.id);
    const target = await checkTarget(dir);
    if (target.type === "error") throw new UsageError(target.message);
    if (target.type === "occupied" && !args.force) {
      throw new UsageError(`${dir} already holds node data; pass --force to replace it`);
    }
    targets.set(node.id, target);
  }
  return targets;
}

if (import.meta.main) {
  Deno.exit(await runRestore(Deno.args));
}
