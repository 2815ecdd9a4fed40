// The real launcher (real signals, real console) over stand-in nodes: `deno run -A
// fake_cluster.ts <cluster flags>` with FAKE_NODE=<script>; each child runs
// `deno run FAKE_NODE <id> normal`. Used by cluster_process_test.ts.

import { runCluster } from "../mod.ts";

const script = Deno.env.get("FAKE_NODE");
if (script === undefined) throw new Error("set FAKE_NODE to the stand-in node script");
Deno.exit(
  await runCluster(Deno.args, {
    childCommand: (spec) => ({
      program: Deno.execPath(),
      args: ["run", "-A", "--no-config", script, spec.id, "normal"],
    }),
  }),
);
