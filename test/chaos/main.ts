// deno task chaos --seconds N --seed S --nodes 3|5 [--clients C] [--keys K] [--think-ms MS]
//                 [--out DIR] [--keep] [--snapshot-entries N] [--quiet] [--serializable-reads]
//
// --serializable-reads makes the workload read without ReadIndex (stale reads allowed): a
// self-test of the checker, expected to end in a violation.
// One chaos run against real processes (chaos.ts). Prints the nemesis's faults as they happen,
// then one JSON summary line. Exit code 0: linearizable, converged, nothing lost; 1: a
// violation (the history and node logs are written to a directory, printed with the seed);
// 3: the checker could not decide in time; 2: bad flags; 4: the run itself broke (seed printed).

import { parseArgs } from "node:util";
import { runChaos } from "./chaos.ts";

const USAGE =
  "usage: deno task chaos [--seconds N] [--seed S] [--nodes 3|5] [--clients C] [--keys K] [--think-ms MS] [--out DIR] [--keep] [--snapshot-entries N] [--quiet] [--serializable-reads]";

function intFlag(
  values: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`chaos: --${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
    console.error(USAGE);
    Deno.exit(2);
  }
  return value;
}

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        seconds: { type: "string" },
        seed: { type: "string" },
        nodes: { type: "string" },
        clients: { type: "string" },
        keys: { type: "string" },
        "think-ms": { type: "string" },
        out: { type: "string" },
        keep: { type: "boolean" },
        "snapshot-entries": { type: "string" },
        quiet: { type: "boolean" },
        "serializable-reads": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`chaos: ${err instanceof Error ? err.message.split("\n")[0] : err}`);
    console.error(USAGE);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const nodes = intFlag(values, "nodes", 3, 3, 9);
  const snapshotEntries = values["snapshot-entries"] === undefined
    ? undefined
    : intFlag(values, "snapshot-entries", 0, 1, 100_000_000);
  const seed = intFlag(values, "seed", Math.floor(Math.random() * 1e9), 0, 2 ** 32 - 1);
  const summary = await runChaos({
    seconds: intFlag(values, "seconds", 30, 1, 86_400),
    seed,
    nodes,
    clients: intFlag(values, "clients", 8, 1, 256),
    keys: intFlag(values, "keys", 20, 1, 1000),
    thinkMs: intFlag(values, "think-ms", 40, 0, 10_000),
    outDir: values.out,
    keepArtifacts: values.keep ?? false,
    serializableReads: values["serializable-reads"] ?? false,
    tuning: snapshotEntries === undefined ? undefined : { snapshotEntries },
    log: values.quiet ? undefined : (line) => console.error(line),
  }).catch((err) => {
    console.error(`chaos: the run itself failed with seed ${seed}: ${err?.stack ?? err}`);
    Deno.exit(4);
  });
  console.log(JSON.stringify(summary));
  if (summary.verdict !== "ok") {
    console.error(
      `chaos: ${summary.verdict.toUpperCase()} with seed ${summary.seed}; history and node logs in ${summary.artifacts}`,
    );
    for (const v of summary.violations.slice(0, 20)) console.error(`  ${v}`);
  }
  Deno.exit(summary.verdict === "ok" ? 0 : summary.verdict === "violation" ? 1 : 3);
}
