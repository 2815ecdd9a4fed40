// main.ts as users run it: a bad invocation is one line on stderr and exit code 2,
// decided before lib/replica is ever loaded (so these pass whether or not it exists).

import assert from "node:assert/strict";
import { join } from "node:path";
import { MAIN_PATH } from "./cluster.ts";

async function runMain(args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN_PATH, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("main.ts: bad invocations exit 2 with exactly one line on stderr", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_main_" });
  try {
    const bad = join(dir, "bad.json");
    await Deno.writeTextFile(
      bad,
      JSON.stringify({
        cluster: "c",
        nodes: [{ id: "n1", client: "http://127.0.0.1:1", peer: "http://x" }],
      }),
    );
    const cases: [string[], string][] = [
      [
        ["--id", "nope", "--config", bad],
        `raftkv: ${bad}: nodes[0].peer: expected a ws:// URL with host and port, got "http://x"\n`,
      ],
      [["--id", "n1", "--nope"], "raftkv: unknown flag --nope"],
      [["cluster", "--nodes", "0"], 'raftkv: --nodes: expected an integer from 1 to 9, got "0"\n'],
    ];
    for (const [args, expected] of cases) {
      const { code, stdout, stderr } = await runMain(args);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.equal(stdout, "");
      assert.ok(stderr.startsWith(expected), `${args.join(" ")}: ${stderr}`);
      assert.equal(stderr.split("\n").length, 2, `not one line: ${stderr}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
