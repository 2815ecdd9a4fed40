import assert from "node:assert/strict";
import { join } from "node:path";
import { parseClusterConfig } from "../config/mod.ts";
import type { ClusterConfig } from "../config/mod.ts";
import { encodeCommand, KvStateMachine } from "../kv/mod.ts";
import { Replica } from "../replica/replica.ts";
import { KvStorage } from "../storage/mod.ts";
import { MemoryNetwork } from "../transport/mod.ts";
import { encodeBackup } from "./format.ts";
import { runRestore } from "./restore.ts";
import { RESTORED_TERM, restoredConfig } from "./restore_data.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Fixture {
  dir: string;
  configPath: string;
  config: ClusterConfig;
  backupPath: string;
  image: Uint8Array;
  dataDir: string;
}

async function fixture(nodes: number, keys = 20): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_restore_test_" });
  const raw = {
    cluster: "restored",
    secret: "0123456789abcdef",
    nodes: Array.from({ length: nodes }, (_, i) => ({
      id: `n${i + 1}`,
      client: `http://127.0.0.1:${17001 + i}`,
      peer: `ws://127.0.0.1:${17101 + i}`,
      ...(i === 0 ? { text: `127.0.0.1:${19001 + i}` } : {}),
    })),
  };
  const parsed = parseClusterConfig(raw, "nodes.json");
  if (parsed.type !== "ok") throw new Error(parsed.message);
  const configPath = join(dir, "nodes.json");
  await Deno.writeTextFile(configPath, JSON.stringify(raw));
  const sm = new KvStateMachine();
  sm.applyNoop(1);
  for (let i = 0; i < keys; i++) {
    const command = { type: "put", key: `k${i}`, value: encoder.encode(`v${i}`) } as const;
    sm.apply(i + 2, encodeCommand({ ...command, time: 5000 + i, reqId: `r${i}` }));
  }
  const image = sm.snapshot();
  const file = await encodeBackup(image, {
    appliedIndex: sm.appliedIndex,
    revision: sm.revision,
    createdAtMs: Date.now(),
  });
  const backupPath = join(dir, "backup.snap");
  await Deno.writeFile(backupPath, file);
  return { dir, configPath, config: parsed.config, backupPath, image, dataDir: join(dir, "data") };
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runRestore(argv, (stream, text) => {
    if (stream === "stdout") stdout += text;
    else stderr += text;
  });
  return { code, stdout, stderr };
}

function restoreArgs(f: Fixture, ...extra: string[]): string[] {
  return ["--from", f.backupPath, "--config", f.configPath, "--data", f.dataDir, ...extra];
}

/** Refused: exit 2 and exactly one line on stderr, nothing on stdout. */
function assertRefused(r: { code: number; stdout: string; stderr: string }, pattern: RegExp) {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.split("\n").filter((line) => line !== "").length, 1, r.stderr);
  assert.match(r.stderr, /^raftkv: restore: /);
  assert.match(r.stderr, pattern);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("restore: every node gets the image as a snapshot the core and the shell accept", async () => {
  const f = await fixture(3);
  try {
    const r = await run(restoreArgs(f));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /appliedIndex 21, revision 21, 20 keys/);
    for (const id of ["n1", "n2", "n3"]) {
      const storage = await KvStorage.open(join(f.dataDir, id, "raft.kv"));
      try {
        const stored = await storage.load();
        assert.deepEqual(stored.snapshot, {
          index: 21,
          term: RESTORED_TERM,
          config: restoredConfig(f.config),
        });
        assert.deepEqual(stored.hardState, {
          term: RESTORED_TERM,
          votedFor: null,
          commitIndex: 21,
        });
        assert.deepEqual(stored.entries, []);
        assert.deepEqual((await storage.loadSnapshot())?.data, f.image);
      } finally {
        storage.close();
      }
      assert.equal(await exists(join(f.dataDir, `${id}.restoring`)), false);
    }
    // The addresses ride in the configuration like a bootstrapped node's (members.ts).
    const contexts = restoredConfig(f.config).contexts ?? {};
    assert.deepEqual(JSON.parse(contexts.n1), {
      client: "http://127.0.0.1:17001",
      peer: "ws://127.0.0.1:17101",
      text: "127.0.0.1:19001",
    });
    assert.equal(JSON.parse(contexts.n2).text, null);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("restore: a one-node cluster starts from it, serves the keys, writes above it", async () => {
  const f = await fixture(1);
  try {
    assert.equal((await run(restoreArgs(f))).code, 0);
    const kv = await KvStorage.open(join(f.dataDir, "n1", "raft.kv"));
    const transport = new MemoryNetwork().transport("n1");
    await transport.start();
    const replica = await Replica.open({
      id: "n1",
      voters: ["n1"],
      tickMs: 5,
      electionTicks: 10,
      heartbeatTicks: 1,
      snapshotEntries: 1000,
      requestTimeoutMs: 3000,
    }, { storage: kv, transport, log: () => {} });
    replica.start();
    try {
      assert.equal(replica.sm.appliedIndex, 21);
      const deadline = Date.now() + 5000;
      while (replica.node.role !== "leader" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const barrier = await replica.readBarrier();
      assert.equal(barrier.type, "ok");
      assert.equal(decoder.decode(replica.sm.get("k7", Date.now())?.value), "v7");
      assert.equal(replica.sm.get("k7", Date.now())?.modRevision, 9);
      const written = await replica.write({ type: "put", key: "new", value: encoder.encode("x") });
      assert.equal(written.type, "applied");
      if (written.type === "applied" && written.result.type === "put") {
        assert.ok(written.result.revision > 21, `revision ${written.result.revision}`);
      } else {
        assert.fail(`unexpected ${JSON.stringify(written)}`);
      }
      assert.ok(replica.status().term > RESTORED_TERM);
    } finally {
      await replica.stop();
      await transport.close();
      kv.close();
    }
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("restore: existing node data is kept unless --force; foreign files never go", async () => {
  const f = await fixture(2);
  try {
    assert.equal((await run(restoreArgs(f))).code, 0);
    const before = await Deno.readFile(join(f.dataDir, "n1", "raft.kv"));
    assertRefused(await run(restoreArgs(f)), /data[/\\]n1 already holds node data; pass --force/);
    assert.deepEqual(await Deno.readFile(join(f.dataDir, "n1", "raft.kv")), before);
    const forced = await run(restoreArgs(f, "--force"));
    assert.equal(forced.code, 0, forced.stderr);
    await Deno.writeTextFile(join(f.dataDir, "n2", "notes.txt"), "mine");
    assertRefused(await run(restoreArgs(f, "--force")), /n2 holds files that are not raftkv data/);
    assert.equal(await Deno.readTextFile(join(f.dataDir, "n2", "notes.txt")), "mine");
    // An empty directory is fine without --force.
    await Deno.remove(join(f.dataDir, "n1"), { recursive: true });
    await Deno.remove(join(f.dataDir, "n2"), { recursive: true });
    await Deno.mkdir(join(f.dataDir, "n1"));
    assert.equal((await run(restoreArgs(f))).code, 0);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("restore: a corrupt, foreign or missing backup is refused before anything is written", async () => {
  const f = await fixture(3);
  try {
    const file = await Deno.readFile(f.backupPath);
    file[file.length >> 1] ^= 1;
    await Deno.writeFile(f.backupPath, file);
    assertRefused(await run(restoreArgs(f)), /checksum mismatch/);
    await Deno.writeTextFile(f.backupPath, "{}");
    assertRefused(await run(restoreArgs(f)), /bad magic/);
    await Deno.remove(f.backupPath);
    assertRefused(await run(restoreArgs(f)), /file not found/);
    assert.equal(await exists(f.dataDir), false);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("restore: flags and the cluster file are checked, one line each", async () => {
  const f = await fixture(1);
  try {
    assertRefused(await run(["--config", f.configPath]), /--from FILE is required/);
    assertRefused(await run([...restoreArgs(f), "--frobnicate"]), /frobnicate/);
    assertRefused(
      await run(["--from", f.backupPath, "--config", join(f.dir, "none.json")]),
      /not found/,
    );
    await Deno.writeTextFile(join(f.dir, "bad.json"), `{"cluster":"x","nodes":[],"extra":1}`);
    assertRefused(
      await run(["--from", f.backupPath, "--config", join(f.dir, "bad.json")]),
      /bad\.json/,
    );
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: deno task restore --from FILE/);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});
