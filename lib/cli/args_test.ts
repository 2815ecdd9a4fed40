import assert from "node:assert/strict";
import { DEFAULT_ENDPOINT, parseCommandLine } from "./args.ts";
import { main } from "./mod.ts";
import { memoryIo } from "./test_helpers.ts";

const noEnv = () => undefined;

Deno.test("flags parse into typed commands, anywhere on the line", () => {
  assert.deepEqual(
    parseCommandLine([
      "--endpoint",
      "http://h:1/,http://h:2",
      "put",
      "k",
      "v",
      "--ttl",
      "5",
      "--create",
    ], noEnv),
    {
      type: "run",
      endpoints: ["http://h:1", "http://h:2"],
      command: {
        type: "put",
        key: "k",
        source: { type: "arg", value: "v" },
        ttlS: 5,
        create: true,
      },
    },
  );
  assert.deepEqual(parseCommandLine(["list", "--limit", "10"], noEnv), {
    type: "run",
    endpoints: [DEFAULT_ENDPOINT],
    command: { type: "list", prefix: "", limit: 10, keysOnly: false, json: false },
  });
  assert.deepEqual(
    parseCommandLine(["put", "k", "-"], (n) => n === "RAFTKV_ENDPOINT" ? "http://e:9" : undefined),
    {
      type: "run",
      endpoints: ["http://e:9"],
      command: { type: "put", key: "k", source: { type: "stdin" }, create: false },
    },
  );
  assert.deepEqual(parseCommandLine(["put", "k", "--", "-1"], noEnv), {
    type: "run",
    endpoints: [DEFAULT_ENDPOINT],
    command: { type: "put", key: "k", source: { type: "arg", value: "-1" }, create: false },
  });
});

Deno.test("bad usage is one line naming the problem and the command's usage", () => {
  const cases: [string[], string][] = [
    [[], 'missing command; try "kv help"'],
    [["frob"], 'unknown command "frob"; commands: get, put, del, list, watch, status, help'],
    [["get"], "missing KEY; usage: kv get KEY [--serializable] [--json]"],
    [["get", "a", "b"], "too many arguments; usage: kv get KEY [--serializable] [--json]"],
    [
      ["get", "k", "--ttl", "3"],
      "get has no option --ttl; usage: kv get KEY [--serializable] [--json]",
    ],
    [["get", "k", "--bogus"], "Unknown option '--bogus'"],
    [
      ["put", "k"],
      "missing value (give VALUE, - for stdin, or --file F); usage: kv put KEY (VALUE | - | --file F) [--ttl S] [--if-revision R | --create]",
    ],
    [
      ["put", "k", "v", "--file", "f"],
      "give the value or --file, not both; usage: kv put KEY (VALUE | - | --file F) [--ttl S] [--if-revision R | --create]",
    ],
    [
      ["put", "k", "v", "--create", "--if-revision", "2"],
      "--create and --if-revision exclude each other; usage: kv put KEY (VALUE | - | --file F) [--ttl S] [--if-revision R | --create]",
    ],
    [
      ["put", "k", "v", "--ttl", "0"],
      '--ttl expects an integer >= 1, got "0"; usage: kv put KEY (VALUE | - | --file F) [--ttl S] [--if-revision R | --create]',
    ],
    [["del", ".."], 'KEY ".." cannot be addressed over HTTP; usage: kv del KEY [--if-revision R]'],
    [
      ["list", "--limit", "x"],
      '--limit expects an integer >= 1, got "x"; usage: kv list [PREFIX] [--limit N] [--keys-only] [--json]',
    ],
    [
      ["status", "--endpoint", "ftp://x"],
      '--endpoint: "ftp://x" must be an http:// or https:// URL',
    ],
    [
      ["status", "--endpoint", "nope"],
      '--endpoint: "nope" is not a URL (expected e.g. http://127.0.0.1:7001)',
    ],
  ];
  for (const [argv, message] of cases) {
    assert.deepEqual(parseCommandLine(argv, noEnv), { type: "usage", message }, argv.join(" "));
  }
});

Deno.test("help prints every command's usage on stdout", async () => {
  const m = memoryIo();
  assert.equal(await main(["--help"], m.io), 0);
  for (const c of ["get", "put", "del", "list", "watch", "status"]) {
    assert.match(m.out(), new RegExp(`^  kv ${c} `, "m"));
  }
});

Deno.test("subprocess: bad usage exits 2 with one line on stderr", async () => {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const out = await new Deno.Command("deno", {
    args: ["run", "-A", main, "get", "--endpoint", "http://127.0.0.1:1"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 2);
  assert.equal(out.stdout.length, 0);
  assert.equal(
    new TextDecoder().decode(out.stderr),
    "kv: missing KEY; usage: kv get KEY [--serializable] [--json]\n",
  );
});
