import assert from "node:assert/strict";
import { Progress } from "./progress.ts";
import { InvariantError } from "./assert.ts";

function replicating(matchIndex: number, maxInflight = 3): Progress {
  const pr = new Progress(matchIndex + 1, maxInflight);
  pr.maybeUpdate(matchIndex);
  pr.becomeReplicate();
  return pr;
}

Deno.test("progress: a new follower probes, one append at a time", () => {
  const pr = new Progress(11, 3);
  assert.equal(pr.state, "probe");
  assert.equal(pr.isPaused(), false);
  pr.sentEntries(12, 2);
  assert.equal(pr.isPaused(), true, "one probe outstanding");
  assert.equal(pr.nextIndex, 11, "probing does not advance nextIndex optimistically");
  pr.maybeUpdate(12);
  assert.equal(pr.isPaused(), false, "an ack answers the probe");
  assert.equal(pr.matchIndex, 12);
  assert.equal(pr.nextIndex, 13);
});

Deno.test("progress: probe → replicate → probe", () => {
  const pr = new Progress(11, 3);
  pr.maybeUpdate(10);
  pr.becomeReplicate();
  assert.equal(pr.state, "replicate");
  assert.equal(pr.nextIndex, 11);
  pr.sentEntries(15, 5);
  assert.equal(pr.nextIndex, 16, "replicate advances optimistically");
  assert.equal(pr.maybeDecrTo(13, 12), true);
  assert.equal(pr.state, "probe");
  assert.equal(pr.nextIndex, 13, "min(rejected, hint+1)");
  assert.equal(pr.inflightCount(), 0);
});

Deno.test("progress: replicate → snapshot → probe resumes after the snapshot", () => {
  const pr = replicating(5);
  pr.becomeSnapshot(40);
  assert.equal(pr.state, "snapshot");
  assert.equal(pr.isPaused(), true);
  assert.equal(pr.pendingSnapshot, 40);
  assert.throws(() => pr.sentEntries(41, 1), InvariantError);
  pr.becomeProbe();
  assert.equal(pr.state, "probe");
  assert.equal(pr.nextIndex, 41, "the follower has at least the snapshot");
  assert.equal(pr.pendingSnapshot, 0);
});

Deno.test("progress: a failed snapshot (pendingSnapshot cleared) probes from matchIndex", () => {
  const pr = replicating(5);
  pr.becomeSnapshot(40);
  pr.pendingSnapshot = 0;
  pr.becomeProbe();
  assert.equal(pr.nextIndex, 6);
});

Deno.test("progress: the inflight window fills and frees", () => {
  const pr = replicating(10, 3);
  pr.sentEntries(12, 2);
  pr.sentEntries(14, 2);
  assert.equal(pr.isPaused(), false);
  pr.sentEntries(16, 2);
  assert.equal(pr.inflightCount(), 3);
  assert.equal(pr.isPaused(), true, "window full");
  pr.maybeUpdate(12);
  assert.equal(pr.inflightCount(), 2, "ack of the first append frees one slot");
  assert.equal(pr.isPaused(), false);
  pr.maybeUpdate(16);
  assert.equal(pr.inflightCount(), 0, "a cumulative ack frees every append it covers");
  assert.equal(pr.matchIndex, 16);
  assert.equal(pr.nextIndex, 17);
});

Deno.test("progress: sending into a full window is an invariant breach", () => {
  const pr = replicating(10, 1);
  pr.sentEntries(11, 1);
  assert.throws(() => pr.sentEntries(12, 1), InvariantError);
});

Deno.test("progress: an empty append in replicate state takes no slot", () => {
  const pr = replicating(10, 1);
  pr.sentEntries(10, 0);
  assert.equal(pr.inflightCount(), 0);
  assert.equal(pr.nextIndex, 11);
});

Deno.test("progress: stale acks change nothing", () => {
  const pr = replicating(10, 3);
  pr.sentEntries(12, 2);
  assert.equal(pr.maybeUpdate(9), false);
  assert.equal(pr.matchIndex, 10);
  assert.equal(pr.nextIndex, 13, "nextIndex never moves back on an ack");
  assert.equal(pr.inflightCount(), 1);
});

Deno.test("progress: replicate ignores a rejection at or below matchIndex", () => {
  const pr = replicating(10, 3);
  pr.sentEntries(15, 5);
  assert.equal(pr.maybeDecrTo(10, 3), false);
  assert.equal(pr.maybeDecrTo(7, 3), false);
  assert.equal(pr.state, "replicate");
  assert.equal(pr.nextIndex, 16);
});

Deno.test("progress: a rejection never sends nextIndex below matchIndex + 1", () => {
  const pr = replicating(10, 3);
  pr.sentEntries(15, 5);
  assert.equal(pr.maybeDecrTo(15, 2), true);
  assert.equal(pr.nextIndex, 11);
});

Deno.test("progress: probe only honours the rejection of the last probe", () => {
  const pr = new Progress(21, 3);
  pr.sentEntries(21, 1); // probe with prevLogIndex 20
  assert.equal(pr.maybeDecrTo(18, 5), false, "an older probe's rejection");
  assert.equal(pr.isPaused(), true);
  assert.equal(pr.maybeDecrTo(20, 5), true);
  assert.equal(pr.nextIndex, 6, "jumps to the hint");
  assert.equal(pr.isPaused(), false);
  pr.sentEntries(6, 1); // probe with prevLogIndex 5
  assert.equal(pr.maybeDecrTo(20, 1), false, "the same rejection delivered twice");
  assert.equal(pr.nextIndex, 6);
});

Deno.test("progress: a heartbeat ack frees one inflight slot and unpauses a probe", () => {
  const pr = replicating(10, 2);
  pr.sentEntries(11, 1);
  pr.sentEntries(12, 1);
  assert.equal(pr.isPaused(), true);
  pr.onHeartbeatAck();
  assert.equal(pr.inflightCount(), 1);
  assert.equal(pr.isPaused(), false);
  pr.onHeartbeatAck();
  assert.equal(pr.inflightCount(), 1, "only a full window is relieved");

  const probe = new Progress(5, 2);
  probe.sentEntries(5, 1);
  assert.equal(probe.isPaused(), true);
  probe.onHeartbeatAck();
  assert.equal(probe.isPaused(), false);
});
