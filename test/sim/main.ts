// deno task sim [--seed S] [--seeds N] [--from F] [--bug NAME] [--reconfig]
// Replays one seed exactly, or runs N seeds and prints a summary.

import { parseArgs } from "node:util";
import type { PlantedBugs } from "../../lib/raft/mod.ts";
import { nodesForSeed, replayCommand, runSeed, runSeeds, summaryLine } from "./run.ts";

const BUGS = [
  "commitPreviousTerm",
  "skipLogCheckOnVote",
  "forgetVotedFor",
  "ackBeforePersist",
  "leaderCountsUnwritten",
];

function main(): number {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        seed: { type: "string" },
        seeds: { type: "string" },
        from: { type: "string" },
        nodes: { type: "string" },
        bug: { type: "string" },
        reconfig: { type: "boolean" },
      },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`sim: ${(e as Error).message}`);
    return 2;
  }
  const bugs: PlantedBugs = {};
  if (args.bug !== undefined) {
    if (!BUGS.includes(args.bug)) {
      console.error(`sim: --bug must be one of ${BUGS.join(", ")}`);
      return 2;
    }
    (bugs as Record<string, boolean>)[args.bug] = true;
  }
  if (args.seed !== undefined) {
    const seed = Number(args.seed);
    const nodes = args.nodes !== undefined ? Number(args.nodes) : nodesForSeed(seed);
    const r = runSeed(seed, nodes, bugs, args.reconfig);
    console.log(JSON.stringify({ ...r, violations: undefined }));
    for (const v of r.violations) console.log(`VIOLATION seed=${seed}: ${v}`);
    return r.violations.length === 0 ? 0 : 1;
  }
  const count = Number(args.seeds ?? "100");
  const from = Number(args.from ?? "1");
  const s = runSeeds(from, count, bugs, () => performance.now(), args.reconfig);
  for (const f of s.failures) {
    console.log(`FAIL seed=${f.seed} nodes=${f.nodes}: ${f.violations[0]}`);
    console.log(`  replay: ${replayCommand(f.seed, bugs, args.reconfig)}`);
  }
  console.log(summaryLine(s));
  return s.failures.length === 0 ? 0 : 1;
}

Deno.exit(main());
