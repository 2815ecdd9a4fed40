// raftkv's entry point (API.md §2):
//   deno run -A main.ts cluster [--config FILE] [--data DIR] [--nodes N]   every node
//   deno run -A main.ts --id ID [--config FILE] [--data DIR] [...]          one node

import { runCluster, runNode } from "./lib/launcher/mod.ts";

if (import.meta.main) {
  const argv = Deno.args;
  const code = argv[0] === "cluster" ? await runCluster(argv.slice(1)) : await runNode(argv, {
    // Imported only once flags and config are valid: a bad invocation never loads it.
    loadStartNode: async () => (await import("./lib/replica/mod.ts")).startNode,
  });
  Deno.exit(code);
}
