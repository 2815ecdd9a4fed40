// The harness itself, on real processes: a node that cannot start is seen to exit (with
// what it printed), and kill/restart keep their bookkeeping straight. A bad cluster file
// must stop a node with exit code 2 and one line naming the field (API.md §1).

import assert from "node:assert/strict";
import { startCluster, withCluster } from "./harness.ts";

Deno.test("harness: a node with a bad cluster file exits 2 naming the field", async () => {
  const cluster = await startCluster({ nodes: 1, autoStart: false });
  try {
    const bad = await cluster.writeConfigVariant("bad.json", { tickMs: "fast" });
    cluster.start("n1", { configPath: bad });
    const status = await cluster.waitForExit("n1", 15_000);
    assert.equal(status.code, 2, cluster.dump());
    const output = cluster.output("n1").join("\n");
    assert.match(output, /tickMs/);
    assert.doesNotMatch(output, /^\s+at /m, "no stack trace");
    assert.equal(cluster.crashes.length, 1, "an exit nobody asked for is recorded");
  } finally {
    await cluster.close();
  }
});

Deno.test("harness: kill and restart track processes by PID", async () => {
  await withCluster({ nodes: 3 }, async (cluster) => {
    await cluster.waitForLeader(15_000);
    const pid = cluster.pid("n2");
    assert.notEqual(pid, null);
    const status = await cluster.kill("n2", "SIGTERM");
    assert.equal(status.code, 0, "SIGTERM is a clean stop");
    assert.equal(cluster.pid("n2"), null);
    assert.deepEqual(cluster.liveIds(), ["n1", "n3"]);
    await cluster.restart("n2");
    assert.notEqual(cluster.pid("n2"), pid);
    await cluster.waitForLeader(15_000);
    assert.deepEqual(cluster.liveIds(), ["n1", "n2", "n3"]);
    assert.deepEqual(cluster.crashes, []);
  });
});
