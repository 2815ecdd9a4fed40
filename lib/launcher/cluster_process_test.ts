import assert from "node:assert/strict";
import { join } from "node:path";
import { readLines } from "./output.ts";

const FAKE_CLUSTER = new URL("./testdata/fake_cluster.ts", import.meta.url).pathname;
const FAKE_NODE = new URL("./testdata/fake_node.ts", import.meta.url).pathname;

async function isGone(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

Deno.test("launcher process: SIGTERM to it stops every child and it exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_launcher_process_" });
  const launcher = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FAKE_CLUSTER, "--nodes", "3", "--data", join(dir, "data")],
    env: { FAKE_NODE },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const pids: number[] = [];
  let readyCount = 0;
  let allReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => allReady = resolve);
  const pumps = Promise.all([
    readLines(launcher.stdout, (line) => {
      stdout.push(line);
      const match = /^\[n\d\] ready pid=(\d+)/.exec(line);
      if (match !== null) pids.push(Number(match[1]));
      if (match !== null && ++readyCount === 3) allReady();
    }),
    readLines(launcher.stderr, (line) => stderr.push(line)),
  ]);
  try {
    // If the launcher dies early, `ready` never comes: fail on its exit instead of hanging.
    const early = await Promise.race([ready.then(() => null), launcher.status]);
    assert.equal(early, null, `launcher exited early: ${stderr.join("\n")}`);
    launcher.kill("SIGTERM");
    const status = await launcher.status;
    await pumps;
    assert.equal(status.code, 0, stderr.join("\n"));
    for (const id of ["n1", "n2", "n3"]) {
      assert.ok(stdout.includes(`[${id}] got SIGTERM`), `${id}: ${stdout.join("\n")}`);
      assert.ok(stderr.includes(`[${id}] exited with code 0`), `${id}: ${stderr.join("\n")}`);
    }
    assert.ok(stderr.includes("raftkv: stopped"), stderr.join("\n"));
    for (const pid of pids) assert.ok(await isGone(pid), `child ${pid} still alive`);
  } finally {
    // On a failed assertion, leave no process behind.
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    try {
      launcher.kill("SIGKILL");
    } catch {
      // already gone
    }
    await launcher.status;
    await pumps;
    await Deno.remove(dir, { recursive: true });
  }
});
