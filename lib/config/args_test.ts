import assert from "node:assert/strict";
import { resolve } from "node:path";
import { type ArgsResult, parseClusterArgs, parseNodeArgs } from "./args.ts";
import { parseClusterConfig } from "./load.ts";
import { generateCluster, resolveNodeOptions } from "./options.ts";
import type { ClusterConfig } from "./schema.ts";

function errorOf<T>(result: ArgsResult<T>): string {
  assert.equal(result.type, "error", `expected an error, got ${JSON.stringify(result)}`);
  return result.type === "error" ? result.message : "";
}

function okOf<T>(result: ArgsResult<T>): T {
  if (result.type !== "ok") assert.fail(`expected ok, got ${JSON.stringify(result)}`);
  return result.options;
}

Deno.test("node flags: defaults derive from --id", () => {
  assert.deepEqual(okOf(parseNodeArgs(["--id", "n2"])), {
    id: "n2",
    configPath: "nodes.json",
    dataDir: "data/n2",
    redirect: false,
    textForward: false,
    join: false,
    logLevel: "info",
  });
});

Deno.test("node flags: every flag, both --flag value and --flag=value", () => {
  assert.deepEqual(
    okOf(parseNodeArgs([
      "--id=n1",
      "--config",
      "c/x.json",
      "--data=/var/lib/raftkv",
      "--redirect",
      "--text-forward",
      "--join",
      "--log-level",
      "debug",
    ])),
    {
      id: "n1",
      configPath: "c/x.json",
      dataDir: "/var/lib/raftkv",
      redirect: true,
      textForward: true,
      join: true,
      logLevel: "debug",
    },
  );
});

Deno.test("node flags: each mistake is one short line naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--id", "n1", "--redirct"], /^unknown flag --redirct \(flags: --id, --config, /],
    [["--id", "n1", "-x"], /^unknown flag -x /],
    [[], /^missing --id ID/],
    [["--config", "nodes.json"], /^missing --id ID/],
    [["--id"], /^--id needs a value$/],
    [["--id", "--redirect"], /^--id needs a value$/],
    [["--id", "n1", "--redirect=yes"], /^--redirect takes no value$/],
    [["--id", "n1", "extra"], /^unexpected argument "extra"$/],
    [["--id", "bad id"], /^--id: expected 1-64 letters.*got "bad id"$/],
    [
      ["--id", "n1", "--log-level", "loud"],
      /^--log-level: expected one of debug, info, warn, error/,
    ],
    [["--id", "n1", "--data="], /^--data: expected a path$/],
  ];
  for (const [argv, expected] of cases) {
    const message = errorOf(parseNodeArgs(argv));
    assert.match(message, expected, argv.join(" "));
    assert.ok(!message.includes("\n"), message);
  }
});

Deno.test("--help answers usage instead of an error", () => {
  const node = parseNodeArgs(["--help"]);
  assert.equal(node.type, "help");
  if (node.type === "help") assert.match(node.text, /--id ID/);
  const cluster = parseClusterArgs(["-h"]);
  assert.equal(cluster.type, "help");
  if (cluster.type === "help") assert.match(cluster.text, /--nodes N/);
});

Deno.test("cluster flags: defaults, --config/--data, --nodes, node flags passed on", () => {
  assert.deepEqual(okOf(parseClusterArgs([])), {
    configPath: "nodes.json",
    dataDir: "data",
    nodes: null,
    nodeFlags: [],
  });
  assert.deepEqual(okOf(parseClusterArgs(["--config", "a.json", "--data", "d"])), {
    configPath: "a.json",
    dataDir: "d",
    nodes: null,
    nodeFlags: [],
  });
  assert.deepEqual(okOf(parseClusterArgs(["--text-forward", "--redirect"])).nodeFlags, [
    "--redirect",
    "--text-forward",
  ]);
  assert.equal(okOf(parseClusterArgs(["--nodes", "1"])).nodes, 1);
  assert.equal(okOf(parseClusterArgs(["--nodes=9"])).nodes, 9);
});

Deno.test("cluster flags: --nodes out of range or not a number, unknown flags", () => {
  for (const bad of ["0", "10", "-1", "3.5", "three", "", "1e1"]) {
    assert.match(
      errorOf(parseClusterArgs([`--nodes=${bad}`])),
      /^--nodes: expected an integer from 1 to 9, got "/,
      bad,
    );
  }
  assert.match(errorOf(parseClusterArgs(["--id", "n1"])), /^unknown flag --id \(flags: --config/);
  assert.match(
    errorOf(parseClusterArgs(["--nodes", "3", "--config", "x.json"])),
    /exclude each other/,
  );
});

function sampleConfig(withSecret: boolean): ClusterConfig {
  const config = generateCluster(3, withSecret ? "a-long-secret" : undefined);
  return config;
}

Deno.test("resolveNodeOptions: own entry, peers, tuning and absolute config path", () => {
  const args = okOf(parseNodeArgs(["--id", "n2", "--redirect"]));
  const result = resolveNodeOptions(args, sampleConfig(true));
  if (result.type !== "ok") return assert.fail(result.message);
  const { options, warnings } = result;
  assert.deepEqual(warnings, []);
  assert.equal(options.id, "n2");
  assert.deepEqual(options.self, {
    id: "n2",
    client: "http://127.0.0.1:7002",
    peer: "ws://127.0.0.1:7102",
    text: "127.0.0.1:9002",
    clientAddr: { hostname: "127.0.0.1", port: 7002 },
    peerAddr: { hostname: "127.0.0.1", port: 7102 },
    textAddr: { hostname: "127.0.0.1", port: 9002 },
  });
  assert.deepEqual(options.peers.map((peer) => peer.id), ["n1", "n3"]);
  assert.deepEqual(options.members.map((member) => member.id), ["n1", "n2", "n3"]);
  assert.equal(options.secret, "a-long-secret");
  assert.equal(options.configPath, resolve("nodes.json"));
  assert.equal(options.dataDir, "data/n2");
  assert.equal(options.redirect, true);
  assert.equal(options.textForward, false);
  assert.equal(options.electionTicks, 10);
  assert.equal(options.requestTimeoutMs, 5000);
});

Deno.test("resolveNodeOptions: no secret → cluster name stands in, with a warning", () => {
  const args = okOf(parseNodeArgs(["--id", "n1"]));
  const result = resolveNodeOptions(args, sampleConfig(false));
  if (result.type !== "ok") return assert.fail(result.message);
  assert.equal(result.options.secret, "local");
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0], /no "secret".*cluster name "local"/);
});

Deno.test("resolveNodeOptions: --id not in the config names the file and the ids", () => {
  const args = okOf(parseNodeArgs(["--id", "nope", "--config", "x.json"]));
  assert.deepEqual(resolveNodeOptions(args, sampleConfig(true)), {
    type: "error",
    message: "--id nope: no such node in x.json (ids: n1, n2, n3)",
  });
});

Deno.test("resolveNodeOptions: a text-less node has null text", () => {
  const parsed = parseClusterConfig({
    cluster: "c",
    nodes: [{ id: "solo", client: "http://localhost:8080", peer: "ws://localhost:8081" }],
  }, "f.json");
  if (parsed.type !== "ok") return assert.fail(parsed.message);
  const result = resolveNodeOptions(okOf(parseNodeArgs(["--id", "solo"])), parsed.config);
  if (result.type !== "ok") return assert.fail(result.message);
  assert.equal(result.options.self.text, null);
  assert.equal(result.options.self.textAddr, null);
  assert.deepEqual(result.options.peers, []);
});

Deno.test("generateCluster: the API.md loopback layout, valid by the schema", () => {
  const config = generateCluster(3);
  assert.deepEqual(
    config.nodes,
    [1, 2, 3].map((i) => ({
      id: `n${i}`,
      client: `http://127.0.0.1:700${i}`,
      peer: `ws://127.0.0.1:710${i}`,
      text: `127.0.0.1:900${i}`,
    })),
  );
  assert.equal(config.tickMs, 50);
  // What runCluster writes to disk must load back to the same thing.
  const reparsed = parseClusterConfig(
    JSON.parse(JSON.stringify(generateCluster(9, "x".repeat(8)))),
    "g",
  );
  assert.equal(reparsed.type, "ok");
  if (reparsed.type === "ok") {
    assert.equal(reparsed.config.nodes[8].client, "http://127.0.0.1:7009");
  }
  assert.equal(generateCluster(1).nodes.length, 1);
  assert.throws(() => generateCluster(0), RangeError);
  assert.throws(() => generateCluster(10), RangeError);
});
