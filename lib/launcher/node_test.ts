import assert from "node:assert/strict";
import { join } from "node:path";
import type { NodeOptions } from "../config/mod.ts";
import { type NodeDeps, type RunningNode, runNode } from "./node.ts";
import type { OutputStream, StopSignal } from "./output.ts";

const CLUSTER = {
  cluster: "t",
  secret: "0123456789abcdef",
  tickMs: 10,
  nodes: [1, 2].map((i) => ({
    id: `n${i}`,
    client: `http://127.0.0.1:${27000 + i}`,
    peer: `ws://127.0.0.1:${27100 + i}`,
  })),
};

interface Fake {
  file: string;
  lines: { stream: OutputStream; text: string }[];
  started: NodeOptions[];
  stops: number;
  loads: number;
  /** Settle when loadStartNode / startNode have been called. */
  whenLoaded: Promise<void>;
  whenStarted: Promise<void>;
  signal(signal: StopSignal): void;
  subscribed(): boolean;
  deps(
    start?: (options: NodeOptions) => Promise<RunningNode>,
  ): Partial<NodeDeps> & Pick<NodeDeps, "loadStartNode">;
  cleanup(): Promise<void>;
}

async function fake(cluster: unknown = CLUSTER): Promise<Fake> {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_node_" });
  const file = join(dir, "nodes.json");
  await Deno.writeTextFile(file, JSON.stringify(cluster));
  let handler: ((signal: StopSignal) => void) | null = null;
  let loaded: () => void = () => {};
  let started: () => void = () => {};
  const f: Fake = {
    file,
    lines: [],
    started: [],
    stops: 0,
    loads: 0,
    whenLoaded: new Promise((resolve) => loaded = resolve),
    whenStarted: new Promise((resolve) => started = resolve),
    signal: (signal) => handler?.(signal),
    subscribed: () => handler !== null,
    deps: (start) => ({
      loadStartNode: () => {
        f.loads++;
        loaded();
        const startNode = start ?? ((options: NodeOptions) => {
          f.started.push(options);
          return Promise.resolve({
            stop: () => {
              f.stops++;
              return Promise.resolve();
            },
          });
        });
        return Promise.resolve((options: NodeOptions) => {
          started();
          return startNode(options);
        });
      },
      write: (stream, text) => {
        for (const line of text.split("\n").slice(0, -1)) f.lines.push({ stream, text: line });
      },
      onStopSignal: (h) => {
        handler = h;
        return () => handler = null;
      },
    }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
  return f;
}

Deno.test("runNode: starts with the resolved options, stops on SIGTERM, exit 0", async () => {
  const f = await fake();
  try {
    const exit = runNode(["--id", "n2", "--config", f.file, "--data", "somewhere"], f.deps());
    await f.whenStarted;
    const options = f.started[0];
    assert.equal(options.id, "n2");
    assert.equal(options.self.clientAddr.port, 27002);
    assert.deepEqual(options.peers.map((peer) => peer.id), ["n1"]);
    assert.equal(options.dataDir, "somewhere");
    assert.equal(options.tickMs, 10);
    assert.equal(options.secret, "0123456789abcdef");
    assert.equal(f.stops, 0);
    f.signal("SIGTERM");
    assert.equal(await exit, 0);
    assert.equal(f.stops, 1);
    assert.equal(f.subscribed(), false);
    assert.deepEqual(f.lines, [{ stream: "stderr", text: "raftkv: SIGTERM: stopping node n2" }]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("runNode: a signal during the start stops the node once it is up", async () => {
  const f = await fake();
  try {
    let finishStart: () => void = () => {};
    const exit = runNode(
      ["--id", "n1", "--config", f.file],
      f.deps(async () => {
        await new Promise<void>((resolve) => finishStart = resolve);
        return { stop: () => Promise.resolve(void f.stops++) };
      }),
    );
    await f.whenStarted;
    f.signal("SIGINT");
    f.signal("SIGINT"); // the terminal's Ctrl-C and the launcher's forward: one stop
    finishStart();
    assert.equal(await exit, 0);
    assert.equal(f.stops, 1);
  } finally {
    await f.cleanup();
  }
});

Deno.test("runNode: bad flags or config → one line, exit 2, replica never loaded", async () => {
  const f = await fake({ ...CLUSTER, heartbeatTicks: 10 });
  try {
    const cases: [string[], RegExp][] = [
      [
        ["--id", "n1", "--config", f.file],
        /^raftkv: .*nodes\.json: heartbeatTicks: must be less than/,
      ],
      [["--id", "n1", "--confg", f.file], /^raftkv: unknown flag --confg /],
      [["--config", f.file], /^raftkv: missing --id/],
      [["--id", "n1", "--config", `${f.file}.nope`], /^raftkv: .*\.nope: file not found$/],
    ];
    for (const [argv, expected] of cases) {
      f.lines.length = 0;
      assert.equal(await runNode(argv, f.deps()), 2, argv.join(" "));
      assert.equal(f.lines.length, 1, JSON.stringify(f.lines));
      assert.equal(f.lines[0].stream, "stderr");
      assert.match(f.lines[0].text, expected);
    }
    assert.equal(f.loads, 0);
  } finally {
    await f.cleanup();
  }
});

Deno.test("runNode: --id not in the config → exit 2 naming the ids", async () => {
  const f = await fake();
  try {
    assert.equal(await runNode(["--id", "nope", "--config", f.file], f.deps()), 2);
    assert.deepEqual(f.lines.map((line) => line.text), [
      `raftkv: --id nope: no such node in ${f.file} (ids: n1, n2)`,
    ]);
    assert.equal(f.loads, 0);
  } finally {
    await f.cleanup();
  }
});

Deno.test("runNode: a failed start is one line and exit 1", async () => {
  const f = await fake();
  try {
    const code = await runNode(
      ["--id", "n1", "--config", f.file],
      f.deps(() =>
        Promise.reject(new Deno.errors.AddrInUse("Address already in use\n(os error 98)"))
      ),
    );
    assert.equal(code, 1);
    assert.deepEqual(f.lines.map((line) => line.text), [
      "raftkv: cannot start node n1: Address already in use (os error 98)",
    ]);
    assert.equal(f.subscribed(), false);
  } finally {
    await f.cleanup();
  }
});

Deno.test("runNode: a stop that hangs ends with exit 1 after stopTimeoutMs", async () => {
  const f = await fake();
  try {
    const exit = runNode(["--id", "n1", "--config", f.file], {
      ...f.deps(() => Promise.resolve({ stop: () => new Promise<void>(() => {}) })),
      stopTimeoutMs: 20,
    });
    await f.whenLoaded;
    await f.whenStarted;
    f.signal("SIGTERM");
    assert.equal(await exit, 1);
    assert.equal(f.lines.at(-1)?.text, "raftkv: stopping node n1: did not finish within 20 ms");
  } finally {
    await f.cleanup();
  }
});

Deno.test("runNode: no secret in the file → a warning, the cluster name as secret", async () => {
  const { secret: _, ...withoutSecret } = CLUSTER;
  const f = await fake(withoutSecret);
  try {
    const exit = runNode(["--id", "n1", "--config", f.file], f.deps());
    await f.whenStarted;
    assert.equal(f.started[0].secret, "t");
    assert.match(f.lines[0].text, /^raftkv: warning: .*no "secret"/);
    f.signal("SIGTERM");
    assert.equal(await exit, 0);
  } finally {
    await f.cleanup();
  }
});

Deno.test("runNode: --help prints usage to stdout, exit 0", async () => {
  const f = await fake();
  try {
    assert.equal(await runNode(["--help"], f.deps()), 0);
    assert.equal(f.lines[0].stream, "stdout");
    assert.match(f.lines[0].text, /^usage: /);
  } finally {
    await f.cleanup();
  }
});
