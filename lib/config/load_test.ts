import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClusterConfig, parseClusterConfig, parseClusterConfigText } from "./load.ts";
import { parseHostPort, parseUrlAddress } from "./schema.ts";

// The API.md §1 sample, without a secret.
function sample(): Record<string, unknown> & { nodes: Record<string, unknown>[] } {
  return {
    cluster: "local",
    nodes: [1, 2, 3].map((i) => ({
      id: `n${i}`,
      client: `http://127.0.0.1:700${i}`,
      peer: `ws://127.0.0.1:710${i}`,
      text: `127.0.0.1:900${i}`,
    })),
  };
}

function withChange(change: (file: ReturnType<typeof sample>) => void): unknown {
  const file = sample();
  change(file);
  return file;
}

Deno.test("the API.md sample is accepted and tuning defaults are filled in", () => {
  const result = parseClusterConfig(sample(), "nodes.json");
  assert.equal(result.type, "ok");
  if (result.type !== "ok") return;
  assert.equal(result.config.cluster, "local");
  assert.deepEqual(result.config.nodes.map((node) => node.id), ["n1", "n2", "n3"]);
  assert.equal(result.config.secret, undefined);
  assert.equal(result.config.tickMs, 50);
  assert.equal(result.config.electionTicks, 10);
  assert.equal(result.config.heartbeatTicks, 1);
  assert.equal(result.config.snapshotEntries, 10_000);
  assert.equal(result.config.maxValueBytes, 1_048_576);
  assert.equal(result.config.maxKeyBytes, 1024);
  assert.equal(result.config.requestTimeoutMs, 5000);
});

Deno.test("the repository's nodes.json loads, secret included", async () => {
  const path = new URL("../../nodes.json", import.meta.url).pathname;
  const result = await loadClusterConfig(path);
  assert.equal(result.type, "ok", result.type === "error" ? result.message : "");
  if (result.type !== "ok") return;
  assert.equal(result.config.secret, "change-me-local-dev-secret");
  assert.equal(result.config.nodes.length, 3);
});

Deno.test("explicit tuning, text-less nodes, IPv6 and trailing slashes are accepted", () => {
  const result = parseClusterConfig({
    cluster: "prod",
    secret: "s3cret-s3cret",
    tickMs: 20,
    electionTicks: 20,
    heartbeatTicks: 3,
    snapshotEntries: 50,
    maxValueBytes: 4096,
    maxKeyBytes: 64,
    requestTimeoutMs: 1000,
    nodes: [
      { id: "a_1", client: "http://[::1]:80/", peer: "ws://[::1]:81" },
      { id: "B-2", client: "http://db.example.com:80", peer: "ws://db.example.com:81/" },
    ],
  }, "nodes.json");
  assert.equal(result.type, "ok", result.type === "error" ? result.message : "");
  if (result.type !== "ok") return;
  assert.equal(result.config.heartbeatTicks, 3);
  assert.equal(result.config.nodes[0].text, undefined);
});

interface BadCase {
  name: string;
  file: unknown;
  /** The whole expected line, or fragments it must contain (in order). */
  message: string | string[];
}

const badCases: BadCase[] = [
  {
    name: "http peer URL",
    file: withChange((f) => f.nodes[1].peer = "http://x"),
    message: 'nodes.json: nodes[1].peer: expected a ws:// URL with host and port, got "http://x"',
  },
  {
    name: "bad id",
    file: withChange((f) => f.nodes[0].id = "n 1"),
    message: ["nodes.json: nodes[0].id: expected 1-64 letters", 'got "n 1"'],
  },
  {
    name: "id starting with a dash",
    file: withChange((f) => f.nodes[2].id = "-n3"),
    message: ["nodes[2].id: expected", 'got "-n3"'],
  },
  {
    name: "id of 65 characters",
    file: withChange((f) => f.nodes[0].id = "a".repeat(65)),
    message: ["nodes[0].id: expected 1-64"],
  },
  {
    name: "duplicate id",
    file: withChange((f) => f.nodes[2].id = "n1"),
    message: 'nodes.json: nodes[2].id: duplicate id "n1" (already used by nodes[0])',
  },
  {
    name: "duplicate address across nodes",
    file: withChange((f) => f.nodes[1].peer = "ws://127.0.0.1:7101"),
    message: "nodes.json: nodes[1].peer: address 127.0.0.1:7101 already used by nodes[0].peer",
  },
  {
    name: "duplicate address within a node, across schemes",
    file: withChange((f) => f.nodes[0].text = "127.0.0.1:7001"),
    message: "nodes.json: nodes[0].text: address 127.0.0.1:7001 already used by nodes[0].client",
  },
  {
    name: "client URL missing its port",
    file: withChange((f) => f.nodes[0].client = "http://127.0.0.1"),
    message:
      'nodes.json: nodes[0].client: expected an http:// URL with host and port, got "http://127.0.0.1"',
  },
  {
    name: "client URL with a path",
    file: withChange((f) => f.nodes[0].client = "http://127.0.0.1:7001/api"),
    message: ["nodes[0].client: expected an http:// URL"],
  },
  {
    name: "port out of range",
    file: withChange((f) => f.nodes[1].client = "http://127.0.0.1:70000"),
    message: ["nodes[1].client: expected an http:// URL", '"http://127.0.0.1:70000"'],
  },
  {
    name: "text without a port",
    file: withChange((f) => f.nodes[2].text = "127.0.0.1"),
    message: 'nodes.json: nodes[2].text: expected "host:port", got "127.0.0.1"',
  },
  {
    name: "missing peer",
    file: withChange((f) => delete f.nodes[1].peer),
    message: "nodes.json: nodes[1].peer: missing; expected a ws:// URL with host and port",
  },
  {
    name: "peer of the wrong type",
    file: withChange((f) => f.nodes[1].peer = 7102),
    message: ["nodes[1].peer: expected a ws:// URL", "got 7102"],
  },
  {
    name: "heartbeatTicks equal to electionTicks",
    file: withChange((f) => Object.assign(f, { electionTicks: 5, heartbeatTicks: 5 })),
    message: "nodes.json: heartbeatTicks: must be less than electionTicks (5), got 5",
  },
  {
    name: "heartbeatTicks above the default electionTicks",
    file: withChange((f) => f.heartbeatTicks = 12),
    message: ["heartbeatTicks: must be less than electionTicks (10), got 12"],
  },
  {
    name: "misspelt top-level key",
    file: withChange((f) => f.tikMs = 20),
    message: 'nodes.json: tikMs: unknown field (did you mean "tickMs"?)',
  },
  {
    name: "unrelated top-level key",
    file: withChange((f) => f.colour = "blue"),
    message: ["nodes.json: colour: unknown field (known fields: cluster, nodes, secret, tickMs"],
  },
  {
    name: "misspelt key is reported before the missing one it causes",
    file: { cluster: "local", node: sample().nodes },
    message: ['nodes.json: node: unknown field (did you mean "nodes"?)', "(and 1 more problem)"],
  },
  {
    name: "misspelt node key",
    file: withChange((f) => {
      f.nodes[0].txt = f.nodes[0].text;
      delete f.nodes[0].text;
    }),
    message: 'nodes.json: nodes[0].txt: unknown field (did you mean "text"?)',
  },
  {
    name: "empty nodes",
    file: withChange((f) => f.nodes = []),
    message: "nodes.json: nodes: expected an array of 1 to 15 nodes, got an empty array",
  },
  {
    name: "16 nodes",
    file: withChange((f) =>
      f.nodes = Array.from({ length: 16 }, (_, i) => ({
        id: `n${i}`,
        client: `http://127.0.0.1:${8000 + i}`,
        peer: `ws://127.0.0.1:${8100 + i}`,
      }))
    ),
    message: "nodes.json: nodes: expected an array of 1 to 15 nodes, got an array of 16",
  },
  {
    name: "nodes is an object",
    file: withChange((f) => (f as Record<string, unknown>).nodes = { n1: {} }),
    message: ["nodes: expected an array", "got an object"],
  },
  {
    name: "node entry is a string",
    file: withChange((f) => (f.nodes as unknown[])[1] = "n2"),
    message: ['nodes[1]: expected an object with id, client, peer and optional text, got "n2"'],
  },
  {
    name: "empty cluster name",
    file: withChange((f) => f.cluster = ""),
    message: ["nodes.json: cluster: expected a non-empty string", 'got ""'],
  },
  {
    name: "missing cluster name",
    file: withChange((f) => delete f.cluster),
    message: ["nodes.json: cluster: missing; expected a non-empty string"],
  },
  {
    name: "short secret",
    file: withChange((f) => f.secret = "abc"),
    message: 'nodes.json: secret: expected a string of 8 to 4096 characters, got "abc"',
  },
  {
    name: "fractional tickMs",
    file: withChange((f) => f.tickMs = 1.5),
    message: "nodes.json: tickMs: expected an integer from 1 to 10000, got 1.5",
  },
  {
    name: "tickMs as a string",
    file: withChange((f) => f.tickMs = "50"),
    message: ['tickMs: expected an integer from 1 to 10000, got "50"'],
  },
  {
    name: "maxKeyBytes over Deno KV's headroom",
    file: withChange((f) => f.maxKeyBytes = 4096),
    message: ["maxKeyBytes: expected an integer from 1 to 1024, got 4096"],
  },
  {
    name: "top level is an array",
    file: [sample()],
    message: 'nodes.json: expected a JSON object with "cluster" and "nodes", got an array of 1',
  },
  {
    name: "top level is null",
    file: null,
    message: ["nodes.json: expected a JSON object", "got null"],
  },
];

for (const bad of badCases) {
  Deno.test(`rejected with the field named: ${bad.name}`, () => {
    const result = parseClusterConfig(bad.file, "nodes.json");
    assert.equal(result.type, "error", `accepted: ${JSON.stringify(bad.file)}`);
    if (result.type !== "error") return;
    assert.ok(!result.message.includes("\n"), `not one line: ${result.message}`);
    if (typeof bad.message === "string") {
      assert.equal(result.message, bad.message);
    } else {
      let from = 0;
      for (const fragment of bad.message) {
        const at = result.message.indexOf(fragment, from);
        assert.ok(at >= 0, `"${fragment}" not in: ${result.message}`);
        from = at + fragment.length;
      }
    }
  });
}

Deno.test("invalid JSON is one line naming the file", () => {
  const result = parseClusterConfigText('{\n  "cluster": "local",\n  "nodes": [\n}', "conf/x.json");
  assert.equal(result.type, "error");
  if (result.type !== "error") return;
  assert.match(result.message, /^conf\/x\.json: invalid JSON: \S/);
  assert.ok(!result.message.includes("\n"), result.message);
});

Deno.test("a byte-order mark before the JSON is tolerated", () => {
  const result = parseClusterConfigText("\uFEFF" + JSON.stringify(sample()), "nodes.json");
  assert.equal(result.type, "ok");
});

Deno.test("files: missing, a directory, invalid JSON, too large, valid", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_config_" });
  try {
    const missing = join(dir, "nope.json");
    assert.deepEqual(await loadClusterConfig(missing), {
      type: "error",
      message: `${missing}: file not found`,
    });
    assert.deepEqual(await loadClusterConfig(dir), {
      type: "error",
      message: `${dir}: not a regular file`,
    });

    const broken = join(dir, "broken.json");
    await Deno.writeTextFile(broken, "{ cluster: local }");
    const brokenResult = await loadClusterConfig(broken);
    assert.equal(brokenResult.type, "error");
    if (brokenResult.type === "error") {
      assert.ok(brokenResult.message.startsWith(`${broken}: invalid JSON: `), brokenResult.message);
    }

    const huge = join(dir, "huge.json");
    await Deno.writeTextFile(huge, " ".repeat(1024 * 1024 + 1));
    const hugeResult = await loadClusterConfig(huge);
    assert.equal(hugeResult.type, "error");
    if (hugeResult.type === "error") assert.match(hugeResult.message, /huge\.json: file too large/);

    const good = join(dir, "good.json");
    await Deno.writeTextFile(good, JSON.stringify(sample()));
    assert.equal((await loadClusterConfig(good)).type, "ok");

    const bad = join(dir, "bad.json");
    await Deno.writeTextFile(bad, JSON.stringify(withChange((f) => f.nodes[1].peer = "http://x")));
    const badResult = await loadClusterConfig(bad);
    assert.deepEqual(badResult, {
      type: "error",
      message: `${bad}: nodes[1].peer: expected a ws:// URL with host and port, got "http://x"`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("address parsing: explicit default ports count, brackets come off IPv6", () => {
  assert.deepEqual(parseUrlAddress("http://Example.COM:80", "http"), {
    hostname: "example.com",
    port: 80,
  });
  assert.deepEqual(parseUrlAddress("ws://[::1]:7101/", "ws"), { hostname: "::1", port: 7101 });
  assert.deepEqual(parseHostPort("127.0.0.1:9001"), { hostname: "127.0.0.1", port: 9001 });
  for (const bad of ["127.0.0.1", ":9001", "127.0.0.1:0", "127.0.0.1:65536", "a b:1", "h:1/x"]) {
    assert.equal(parseHostPort(bad), null, bad);
  }
  assert.equal(parseUrlAddress("ws://h:1", "http"), null);
  assert.equal(parseUrlAddress("http://user@h:1", "http"), null);
  assert.equal(parseUrlAddress("http://h:1?x", "http"), null);
});
