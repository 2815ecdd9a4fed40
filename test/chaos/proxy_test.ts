// The fault proxy against real sockets on loopback: a TCP echo server for the byte-level
// modes, a WebSocket echo server (Deno.serve) for message drops, and the frame splitter on
// hand-made frames cut at every byte boundary.

import assert from "node:assert/strict";
import { waitFor } from "../cluster/harness.ts";
import { FaultProxy } from "./proxy.ts";
import { FrameSplitter } from "./ws_units.ts";
import { Rng } from "../rng.ts";

/** A TCP server that echoes every byte back; returns its port and a closer. */
function echoServer(): { port: number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const pumps: Promise<void>[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      pumps.push((async () => {
        const buffer = new Uint8Array(4096);
        try {
          while (true) {
            const n = await conn.read(buffer);
            if (n === null) break;
            await conn.write(buffer.slice(0, n));
          }
        } catch {
          // closed
        }
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // already closed
        }
      })());
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close: async () => {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await loop;
      await Promise.all(pumps);
    },
  };
}

/** Reads until `text` has arrived whole; null if the connection ends first. */
async function readText(conn: Deno.Conn, bytes: number): Promise<string | null> {
  const out: number[] = [];
  const buffer = new Uint8Array(4096);
  while (out.length < bytes) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return null;
    out.push(...buffer.subarray(0, n));
  }
  return new TextDecoder().decode(new Uint8Array(out));
}

async function withEcho(body: (proxy: FaultProxy) => Promise<void>): Promise<void> {
  const echo = echoServer();
  const proxy = new FaultProxy({
    target: { hostname: "127.0.0.1", port: echo.port },
    framing: "bytes",
  });
  try {
    await body(proxy);
  } finally {
    await proxy.close();
    await echo.close();
  }
}

const encoder = new TextEncoder();

Deno.test("proxy: pass and delay forward bytes in order", async () => {
  await withEcho(async (proxy) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    try {
      await conn.write(encoder.encode("hello"));
      assert.equal(await readText(conn, 5), "hello");
      proxy.setMode("forward", { type: "delay", delayMs: 150 });
      const started = performance.now();
      await conn.write(encoder.encode("a"));
      await conn.write(encoder.encode("b"));
      assert.equal(await readText(conn, 2), "ab");
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs >= 140, `round trip ${elapsedMs} ms`);
      assert.ok(proxy.stats.bytes.forward >= 7);
    } finally {
      conn.close();
    }
  });
});

Deno.test("proxy: blackhole holds bytes one way and releases them on heal", async () => {
  await withEcho(async (proxy) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    try {
      await conn.write(encoder.encode("x"));
      assert.equal(await readText(conn, 1), "x");
      proxy.setMode("backward", { type: "blackhole" });
      await conn.write(encoder.encode("held"));
      // The echo server gets the bytes (forward passes) but nothing comes back.
      await waitFor(
        "bytes to reach the server",
        2000,
        () => Promise.resolve(proxy.stats.bytes.forward >= 5 ? true : null),
      );
      const pending = readText(conn, 4);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const early = await Promise.race([
        pending,
        new Promise<"nothing">((resolve) => timer = setTimeout(() => resolve("nothing"), 200)),
      ]);
      clearTimeout(timer);
      assert.equal(early, "nothing");
      proxy.setMode("backward", { type: "pass" });
      assert.equal(await pending, "held");
    } finally {
      conn.close();
    }
  });
});

Deno.test("proxy: cut closes connections and refuses new ones until healed", async () => {
  await withEcho(async (proxy) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await conn.write(encoder.encode("x"));
    assert.equal(await readText(conn, 1), "x");
    proxy.setMode("forward", { type: "cut" });
    assert.equal(await readText(conn, 1), null, "the open connection is closed");
    conn.close();
    const refused = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    assert.equal(await readText(refused, 1), null, "a new connection is closed at once");
    refused.close();
    assert.ok(proxy.stats.refused >= 1);
    proxy.setMode("forward", { type: "pass" });
    const healed = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await healed.write(encoder.encode("back"));
    assert.equal(await readText(healed, 4), "back");
    healed.close();
  });
});

Deno.test("proxy: dropping raw bytes closes the connection instead of corrupting it", async () => {
  await withEcho(async (proxy) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    proxy.setMode("forward", { type: "drop", probability: 1 });
    await conn.write(encoder.encode("gone"));
    assert.equal(await readText(conn, 1), null);
    conn.close();
    assert.equal(proxy.stats.unitsDropped.forward, 1);
  });
});

/** A WebSocket echo server that also counts what it received. */
function wsEchoServer(): { port: number; received: string[]; close: () => Promise<void> } {
  const received: string[] = [];
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    sockets.add(socket);
    socket.onmessage = (e) => {
      received.push(String(e.data));
      socket.send(e.data);
    };
    socket.onclose = () => sockets.delete(socket);
    return response;
  });
  return {
    port: server.addr.port,
    received,
    close: async () => {
      for (const socket of sockets) socket.close();
      await server.shutdown();
    },
  };
}

Deno.test("proxy: drops whole WebSocket messages, and the connection survives", async () => {
  const server = wsEchoServer();
  const rng = new Rng(3);
  const proxy = new FaultProxy({
    target: { hostname: "127.0.0.1", port: server.port },
    random: rng.next,
  });
  const echoed: string[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}`);
  const closed = new Promise((resolve) => ws.onclose = resolve);
  try {
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    ws.onmessage = (e) => echoed.push(String(e.data));
    // Forward drops half the messages (seeded); the others arrive intact. Sizes cross the
    // 126- and 65536-byte length encodings.
    proxy.setMode("forward", { type: "drop", probability: 0.5 });
    const sent: string[] = [];
    for (let i = 0; i < 60; i++) {
      const text = `m${i}:` + "x".repeat([3, 200, 70_000][i % 3]);
      sent.push(text);
      ws.send(text);
    }
    ws.send("end1");
    await waitFor("every message to pass the proxy", 5000, () =>
      Promise.resolve(
        proxy.stats.unitsDropped.forward + server.received.length >= 61 ? true : null,
      ));
    proxy.setMode("forward", { type: "pass" });
    ws.send("end2");
    await waitFor(
      "end2 to echo",
      5000,
      () => Promise.resolve(echoed.includes("end2") ? true : null),
    );
    const through = server.received.filter((m) => m.startsWith("m"));
    assert.ok(through.length > 10 && through.length < 50, `${through.length} of 60 arrived`);
    assert.deepEqual(through, sent.filter((m) => through.includes(m)), "intact and in order");
    // 60 messages and end1 were sent while dropping; end2 after.
    assert.equal(proxy.stats.unitsDropped.forward, 62 - server.received.length);
    // Backward blackhole: the server still receives, the client hears nothing until heal.
    proxy.setMode("backward", { type: "blackhole" });
    ws.send("late");
    await waitFor(
      "late at the server",
      5000,
      () => Promise.resolve(server.received.includes("late") ? true : null),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(!echoed.includes("late"));
    proxy.setMode("backward", { type: "pass" });
    await waitFor(
      "late to echo",
      5000,
      () => Promise.resolve(echoed.includes("late") ? true : null),
    );
  } finally {
    ws.close();
    await closed;
    await proxy.close();
    await server.close();
  }
});

Deno.test("frame splitter: whole frames whatever the chunking", () => {
  const frame = (b0: number, payload: number, mask: boolean) => {
    const header = payload < 126
      ? [b0, payload | (mask ? 0x80 : 0)]
      : payload < 65536
      ? [b0, 126 | (mask ? 0x80 : 0), payload >> 8, payload & 0xff]
      : [
        b0,
        127 | (mask ? 0x80 : 0),
        0,
        0,
        0,
        0,
        0,
        payload >> 16,
        (payload >> 8) & 0xff,
        payload & 0xff,
      ];
    return [...header, ...(mask ? [1, 2, 3, 4] : []), ...new Array(payload).fill(7)];
  };
  const head = [...encoder.encode("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")];
  const frames = [
    frame(0x82, 5, true), // binary, whole
    frame(0x01, 300, true), // text, first fragment
    frame(0x80, 2, true), // continuation, last
    frame(0x89, 0, false), // ping
    frame(0x82, 70_000, false), // 64-bit length
    frame(0x88, 2, false), // close
  ];
  const stream = new Uint8Array([...head, ...frames.flat()]);
  for (const chunk of [1, 7, 1000, stream.length]) {
    const splitter = new FrameSplitter(1 << 20);
    const units = [];
    for (let i = 0; i < stream.length; i += chunk) {
      units.push(...splitter.push(stream.slice(i, i + chunk)));
    }
    assert.deepEqual(
      units.map((u) => u.kind === "data" ? `data:${u.first}:${u.last}` : u.kind),
      [
        "head",
        "data:true:true",
        "data:true:false",
        "data:false:true",
        "control",
        "data:true:true",
        "close",
      ],
    );
    assert.deepEqual(units.map((u) => u.bytes.length), [
      head.length,
      ...frames.map((f) => f.length),
    ]);
  }
  assert.throws(() =>
    new FrameSplitter(100).push(new Uint8Array([...head, ...frame(0x82, 200, true)]))
  );
});
