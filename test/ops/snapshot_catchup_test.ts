// Log compaction and InstallSnapshot with real processes (issue: "a follower down for 100,000
// writes catches up by snapshot"). With snapshotEntries small the leader compacts its log
// past everything the stopped follower has, so the only way back for that follower is the
// leader's snapshot. CI runs 20,000 writes; RAFTKV_SCALE=1 runs the 100,000.

import assert from "node:assert/strict";
import { withCluster } from "../cluster/harness.ts";
import { concurrently, fullScale, metricValues, putMany, waitForStatus } from "./ops_helpers.ts";

const WRITES = fullScale() ? 100_000 : 20_000;
const KEYS = 5_000;
const IN_FLIGHT = 32;

const keyOf = (i: number) => `catchup/${i % KEYS}`;
const valueOf = (i: number) => `value-${i}`;

Deno.test(`snapshot catch-up: a follower down for ${WRITES} writes catches up by snapshot`, async () => {
  await withCluster({ tuning: { snapshotEntries: 500, requestTimeoutMs: 10_000 } }, async (c) => {
    const { leader } = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const leaderClient = () => c.client(leader);
    await putMany(leaderClient, 200, IN_FLIGHT, (i) => `before/${i}`, valueOf);
    const before = await waitForStatus(c, follower, "has the first writes", 10_000, (s) => {
      return s.appliedIndex >= 201;
    });
    await c.kill(follower, "SIGKILL");

    const { perSecond } = await putMany(leaderClient, WRITES, IN_FLIGHT, keyOf, valueOf);
    console.log(`catch-up: ${WRITES} writes at ${perSecond}/s with ${follower} down`);
    const compacted = await waitForStatus(c, leader, "compacted", 10_000, (s) => {
      return s.snapshotIndex > before.lastLogIndex;
    });
    // Everything after the follower's last entry up to here is gone from the leader's log.
    assert.ok(
      compacted.snapshotIndex > before.lastLogIndex,
      `leader snapshotIndex ${compacted.snapshotIndex} > follower lastLogIndex ${before.lastLogIndex}`,
    );

    const restarted = performance.now();
    c.start(follower);
    const caughtUp = await waitForStatus(c, follower, "caught up", 60_000, (s) => {
      return s.appliedIndex >= compacted.commitIndex;
    });
    const catchUpMs = Math.round(performance.now() - restarted);
    console.log(
      `catch-up: ${follower} applied ${caughtUp.appliedIndex} (snapshot ${caughtUp.snapshotIndex}) ` +
        `${catchUpMs} ms after restart; leader snapshot was at ${compacted.snapshotIndex}, ` +
        `follower had ${before.lastLogIndex}`,
    );
    assert.ok(caughtUp.snapshotIndex >= compacted.snapshotIndex, "installed the leader's snapshot");
    // It came streamed into the follower's storage (InstallSnapshot chunks), not whole.
    const metrics = await metricValues(c.client(follower));
    assert.ok(metrics.raftkv_snapshots_installed_total >= 1, "snapshots installed");
    assert.ok(metrics.raftkv_snapshot_bytes_received_total > 100_000, "bytes streamed in");
    assert.equal(metrics.raftkv_snapshot_chunks_rejected_total, 0);
    const sent = await metricValues(leaderClient());
    assert.ok(
      sent.raftkv_snapshot_bytes_sent_total >= metrics.raftkv_snapshot_bytes_received_total,
      "the leader sent what the follower staged",
    );

    // Its own copy (no ReadIndex) holds the last value of every key.
    const reader = c.client(follower);
    await concurrently(KEYS, IN_FLIGHT, async (k) => {
      if (k % 10 !== 0) return; // a sample: 500 keys
      const last = WRITES - KEYS + k; // writes cycle through keys: the last round's index
      const res = await reader.get(keyOf(k), { query: { consistency: "serializable" } });
      assert.equal(res.status, 200, `${keyOf(k)}: ${res.status}`);
      assert.equal(res.text, valueOf(last), keyOf(k));
    });
  });
});
