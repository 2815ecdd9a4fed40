import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClusterConfig } from "../config/mod.ts";
import { type ChildSpec, defaultChildCommand, MAIN_PATH, runCluster } from "./cluster.ts";
import type { OnStopSignal, OutputStream, StopSignal } from "./output.ts";

const FAKE_NODE = new URL("./testdata/fake_node.ts", import.meta.url).pathname;

interface Harness {
  dir: string;
  lines: { stream: OutputStream; text: string }[];
  specs: ChildSpec[];
  /** Fires a stop signal as if the OS had delivered it. */
  signal(signal: StopSignal): void;
  subscribed(): boolean;
  /** Resolves once `count` lines match `pattern`. */
  waitFor(pattern: RegExp, count: number): Promise<void>;
  run(argv: string[], modes?: Record<string, string>, stopGraceMs?: number): Promise<number>;
  cleanup(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_launcher_" });
  const lines: Harness["lines"] = [];
  const specs: ChildSpec[] = [];
  const waiters: { pattern: RegExp; count: number; resolve: () => void }[] = [];
  let handler: ((signal: StopSignal) => void) | null = null;
  const onStopSignal: OnStopSignal = (h) => {
    handler = h;
    return () => handler = null;
  };
  const check = () => {
    for (const waiter of [...waiters]) {
      if (lines.filter((line) => waiter.pattern.test(line.text)).length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  return {
    dir,
    lines,
    specs,
    signal: (signal) => handler?.(signal),
    subscribed: () => handler !== null,
    waitFor: (pattern, count) =>
      new Promise((resolve) => {
        waiters.push({ pattern, count, resolve });
        check();
      }),
    run: (argv, modes = {}, stopGraceMs = 5000) =>
      runCluster(argv, {
        childCommand: (spec) => {
          specs.push(spec);
          return {
            program: Deno.execPath(),
            args: ["run", "-A", "--no-config", FAKE_NODE, spec.id, modes[spec.id] ?? "normal"],
          };
        },
        write: (stream, text) => {
          for (const line of text.split("\n").slice(0, -1)) lines.push({ stream, text: line });
          check();
        },
        onStopSignal,
        stopGraceMs,
        randomSecret: () => "generated-secret",
      }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

function pidsOf(lines: Harness["lines"]): number[] {
  return lines.flatMap((line) => {
    const match = /ready pid=(\d+)/.exec(line.text);
    return match === null ? [] : [Number(match[1])];
  });
}

async function isGone(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

function texts(h: Harness, stream?: OutputStream): string[] {
  return h.lines.filter((line) => stream === undefined || line.stream === stream).map((line) =>
    line.text
  );
}

Deno.test("runCluster: prefixed output, a crash leaves the others running, SIGTERM stops all, exit 0", async () => {
  const h = await harness();
  try {
    const exit = h.run(["--nodes", "3", "--data", join(h.dir, "data")], { n2: "crash" });
    await h.waitFor(/^\[n[13]\] ready pid=/, 2);
    await h.waitFor(/^\[n2\] exited with code 3$/, 1);
    h.signal("SIGTERM");
    assert.equal(await exit, 0);
    assert.equal(h.subscribed(), false, "signal listener removed");

    const stdout = texts(h, "stdout");
    const stderr = texts(h, "stderr");
    for (const id of ["n1", "n2", "n3"]) {
      assert.ok(
        stdout.some((line) => line.startsWith(`[${id}] ready pid=`) && line.endsWith(`id=${id}`)),
      );
      assert.ok(stderr.includes(`[${id}] hello on stderr`), `${id} stderr prefixed`);
    }
    assert.ok(stdout.includes("[n1] got SIGTERM"));
    assert.ok(stdout.includes("[n3] got SIGTERM"));
    assert.ok(!stdout.includes("[n2] got SIGTERM"), "a dead child is not signalled");
    assert.ok(stderr.includes("[n1] exited with code 0"));
    assert.ok(stderr.includes("[n3] exited with code 0"));
    // The exit is reported after the child's last output line.
    assert.ok(
      h.lines.findIndex((l) => l.text === "[n1] exited with code 0") >
        h.lines.findIndex((l) => l.text === "[n1] got SIGTERM"),
    );
    // The banner lists every client URL.
    for (const port of [7001, 7002, 7003]) {
      assert.ok(stdout.some((line) => line.includes(`http://127.0.0.1:${port}`)), `banner ${port}`);
    }
    for (const pid of pidsOf(h.lines)) assert.ok(await isGone(pid), `pid ${pid} still alive`);

    // Children read the generated file, each with its own data directory.
    const configPath = join(h.dir, "data", "nodes.json");
    assert.deepEqual(
      h.specs,
      ["n1", "n2", "n3"].map((id) => ({
        id,
        configPath,
        dataDir: join(h.dir, "data", id),
        flags: [],
      })),
    );
    const written = await loadClusterConfig(configPath);
    assert.equal(written.type, "ok");
    if (written.type === "ok") {
      assert.equal(written.config.secret, "generated-secret");
      assert.equal(written.config.nodes.length, 3);
    }
  } finally {
    await h.cleanup();
  }
});

Deno.test("runCluster: a child that ignores the signal is SIGKILLed after the grace period, exit 1", async () => {
  const h = await harness();
  try {
    const exit = h.run(["--nodes", "2", "--data", h.dir], { n2: "stubborn" }, 300);
    await h.waitFor(/ready pid=/, 2);
    h.signal("SIGINT");
    assert.equal(await exit, 1);
    const stdout = texts(h, "stdout");
    assert.ok(stdout.includes("[n1] got SIGINT"));
    assert.ok(stdout.includes("[n2] ignoring SIGINT"));
    const stderr = texts(h, "stderr");
    assert.ok(
      stderr.includes("[n2] still running 300 ms after SIGINT; sending SIGKILL"),
      stderr.join("\n"),
    );
    assert.ok(stderr.includes("[n2] exited with code 137 (SIGKILL)"), stderr.join("\n"));
    for (const pid of pidsOf(h.lines)) assert.ok(await isGone(pid), `pid ${pid} still alive`);
  } finally {
    await h.cleanup();
  }
});

Deno.test("runCluster: a second signal kills at once", async () => {
  const h = await harness();
  try {
    const exit = h.run(["--nodes", "1", "--data", h.dir], { n1: "stubborn" }, 60_000);
    await h.waitFor(/ready pid=/, 1);
    h.signal("SIGTERM");
    await h.waitFor(/ignoring SIGTERM/, 1);
    h.signal("SIGTERM");
    assert.equal(await exit, 1);
    assert.ok(texts(h, "stderr").includes("[n1] SIGTERM again; sending SIGKILL"));
  } finally {
    await h.cleanup();
  }
});

Deno.test("runCluster: when every child exits on its own the launcher exits 1", async () => {
  const h = await harness();
  try {
    const code = await h.run(["--nodes", "2", "--data", h.dir], { n1: "crash", n2: "crash" });
    assert.equal(code, 1);
    assert.ok(texts(h, "stderr").includes("raftkv: every node has exited"));
    assert.equal(h.subscribed(), false);
  } finally {
    await h.cleanup();
  }
});

Deno.test("runCluster: bad flags or a bad file → one line, exit 2, no child started", async () => {
  const h = await harness();
  try {
    const bad = join(h.dir, "bad.json");
    await Deno.writeTextFile(bad, JSON.stringify({ cluster: "c", nodes: [] }));
    const cases: [string[], RegExp][] = [
      [["--nodes", "10"], /^raftkv: --nodes: expected an integer from 1 to 9, got "10"$/],
      [["--id", "n1"], /^raftkv: unknown flag --id /],
      [["--config", bad], /^raftkv: .*bad\.json: nodes: expected an array of 1 to 15 nodes/],
      [["--config", join(h.dir, "none.json")], /none\.json: file not found$/],
    ];
    for (const [argv, expected] of cases) {
      h.lines.length = 0;
      assert.equal(await h.run(argv), 2, argv.join(" "));
      assert.equal(h.lines.length, 1, JSON.stringify(h.lines));
      assert.equal(h.lines[0].stream, "stderr");
      assert.match(h.lines[0].text, expected);
    }
    assert.deepEqual(h.specs, []);
  } finally {
    await h.cleanup();
  }
});

Deno.test("runCluster: --config passes the file's absolute path (and node flags) to every child", async () => {
  const h = await harness();
  try {
    const file = join(h.dir, "three.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        cluster: "t",
        secret: "0123456789",
        nodes: ["a", "long-id"].map((id, i) => ({
          id,
          client: `http://127.0.0.1:${17001 + i}`,
          peer: `ws://127.0.0.1:${17101 + i}`,
        })),
      }),
    );
    const exit = h.run(["--config", file, "--data", join(h.dir, "d"), "--redirect"], {
      a: "crash",
    });
    await h.waitFor(/^\[long-id\] ready/, 1);
    await h.waitFor(/^\[a\] {7}exited with code 3$/, 1);
    h.signal("SIGTERM");
    assert.equal(await exit, 0);
    assert.deepEqual(h.specs.map((spec) => spec.configPath), [file, file]);
    assert.deepEqual(h.specs.map((spec) => spec.dataDir), [
      join(h.dir, "d", "a"),
      join(h.dir, "d", "long-id"),
    ]);
    assert.deepEqual(h.specs.map((spec) => spec.flags), [["--redirect"], ["--redirect"]]);
  } finally {
    await h.cleanup();
  }
});

Deno.test("defaultChildCommand: this deno running main.ts with the node's flags", async () => {
  const command = defaultChildCommand({
    id: "n2",
    configPath: "/c/nodes.json",
    dataDir: "d/n2",
    flags: ["--redirect"],
  });
  assert.equal(command.program, Deno.execPath());
  assert.deepEqual(command.args, [
    "run",
    "-A",
    MAIN_PATH,
    "--id",
    "n2",
    "--config",
    "/c/nodes.json",
    "--data",
    "d/n2",
    "--redirect",
  ]);
  assert.ok((await Deno.stat(MAIN_PATH)).isFile, `${MAIN_PATH} exists`);
});
