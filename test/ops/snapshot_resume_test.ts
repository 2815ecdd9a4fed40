// InstallSnapshot resumes after a broken transfer, with real processes: a follower that is
// killed (kill -9) while a large snapshot streams to it restarts with the chunks it had
// staged in Deno KV, and the leader sends only the rest.

import assert from "node:assert/strict";
import { withCluster } from "../cluster/harness.ts";
import { concurrently, metricValues, putMany, waitForStatus } from "./ops_helpers.ts";

const KEYS = 400;
const VALUE_BYTES = 64 * 1024; // ~26 MB of state: long enough a transfer to cut in the middle

const keyOf = (i: number) => `resume/${String(i).padStart(4, "0")}`;
const valueOf = (i: number) => `${i}:`.padEnd(VALUE_BYTES, String.fromCharCode(97 + i % 26));

Deno.test("snapshot resume: a follower killed mid-transfer gets only the rest after restart", async () => {
  const tuning = { snapshotEntries: 100, requestTimeoutMs: 20_000 };
  await withCluster({ tuning }, async (c) => {
    const { leader } = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const sizes: number[] = [];
    // From whichever node sends it: on a loaded machine leadership may move meanwhile.
    c.onLine = (_id, line) => {
      const m = /sending snapshot \d+\/\d+ \((\d+) bytes\) to (\S+)/.exec(line);
      if (m && m[2] === follower) sizes.push(Number(m[1]));
    };
    await putMany(() => c.client(leader), 10, 4, (i) => `first/${i}`, String);
    const before = await waitForStatus(c, follower, "has the first writes", 10_000, (s) => {
      return s.appliedIndex >= 11;
    });
    await c.kill(follower, "SIGKILL");
    await putMany(() => c.client(leader), KEYS, 8, keyOf, valueOf);
    await waitForStatus(c, leader, "compacted", 10_000, (s) => {
      return s.snapshotIndex > before.lastLogIndex + KEYS / 2;
    });

    // Restart it and kill it again once a few MB are staged, before the last chunk.
    c.start(follower);
    let staged = 0;
    const deadline = performance.now() + 30_000;
    while (staged < 2 * 1024 * 1024) {
      assert.ok(performance.now() < deadline, "the snapshot transfer never started");
      const m = await metricValues(c.client(follower)).catch(() => null);
      staged = m?.raftkv_snapshot_bytes_received_total ?? 0;
      assert.ok((m?.raftkv_snapshots_installed_total ?? 0) === 0, "finished before the kill");
      await new Promise((r) => setTimeout(r, 5));
    }
    await c.kill(follower, "SIGKILL");
    const total = sizes.at(-1)!;
    assert.ok(staged < total, `staged ${staged} of ${total} before the kill`);
    console.log(`resume: ${follower} killed with ≥ ${staged} of ${total} snapshot bytes staged`);

    c.start(follower);
    const leaderNow = await c.client(leader).status();
    await waitForStatus(c, follower, "caught up", 60_000, (s) => {
      return s.appliedIndex >= leaderNow.commitIndex;
    });
    const after = await metricValues(c.client(follower));
    const received = after.raftkv_snapshot_bytes_received_total;
    console.log(`resume: after restart ${follower} received ${received} of ${total} bytes`);
    assert.equal(after.raftkv_snapshots_installed_total, 1);
    assert.ok(received > 0, "the rest came streamed");
    assert.ok(received <= total - staged, `received ${received} > ${total} - ${staged}`);

    // Its own copy (no ReadIndex) holds every value.
    const reader = c.client(follower);
    await concurrently(KEYS, 8, async (i) => {
      if (i % 20 !== 0) return;
      const res = await reader.get(keyOf(i), { query: { consistency: "serializable" } });
      assert.equal(res.status, 200, `${keyOf(i)}: ${res.status}`);
      assert.equal(res.text, valueOf(i), keyOf(i));
    });
  });
});
