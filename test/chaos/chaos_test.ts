// The bounded chaos run of `deno task test`: a few seeded schedules against real processes
// (about 60 s in all), each of which must end linearizable, converged, with no acknowledged
// write lost. Longer runs: `deno task chaos --seconds N --seed S --nodes 3|5`.

import assert from "node:assert/strict";
import { type ChaosOptions, runChaos } from "./chaos.ts";

const SCHEDULES: Pick<ChaosOptions, "seed" | "seconds" | "nodes">[] = [
  { seed: 101, seconds: 15, nodes: 3 },
  { seed: 202, seconds: 15, nodes: 3 },
  { seed: 303, seconds: 15, nodes: 5 },
];

for (const schedule of SCHEDULES) {
  Deno.test(`chaos: seed ${schedule.seed}, ${schedule.nodes} nodes, ${schedule.seconds} s`, async () => {
    const summary = await runChaos({ ...schedule, clients: 8, keys: 10 });
    console.log(JSON.stringify(summary));
    const replay =
      `deno task chaos --seconds ${schedule.seconds} --seed ${schedule.seed} --nodes ${schedule.nodes}`;
    assert.equal(
      summary.verdict,
      "ok",
      `seed ${summary.seed}: ${
        summary.violations.join("\n")
      }\nhistory and logs: ${summary.artifacts}\nrerun: ${replay}`,
    );
    assert.equal(summary.lostAcknowledgedWrites, 0);
    assert.ok(summary.converged);
    assert.ok(Object.keys(summary.faults).length > 0, "the nemesis injected faults");
    // The run did real work: acknowledged writes and answered reads, not only refusals.
    assert.ok(
      summary.outcomes.written > 50,
      `only ${summary.outcomes.written} acknowledged writes`,
    );
    assert.ok(summary.outcomes.value + summary.outcomes.absent > 50);
  });
}
