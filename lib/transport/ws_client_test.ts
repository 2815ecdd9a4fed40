import assert from "node:assert/strict";
import { fromWebSocket, type PeerSocket } from "./peer_socket.ts";
import { waitFor } from "./transport_contract.ts";
import { WsClient } from "./ws_client.ts";

const limits = { messageBytesMax: 2 * 1024 * 1024 };

interface Observed {
  socket: PeerSocket;
  opened: boolean;
  messages: (ArrayBuffer | string)[];
  closeCode: number | null;
  closed: Promise<void>;
  /** Resolves at the next message. */
  nextMessage(): Promise<void>;
}

function observe(socket: PeerSocket): Observed {
  let resolve = () => {};
  let messageArrived = () => {};
  const o: Observed = {
    socket,
    opened: false,
    messages: [],
    closeCode: null,
    closed: new Promise((r) => resolve = r),
    nextMessage: () => new Promise((r) => messageArrived = r),
  };
  socket.listen({
    open: () => o.opened = true,
    message: (data) => {
      o.messages.push(data);
      messageArrived();
    },
    close: (code) => {
      assert.equal(o.closeCode, null, "close fires once");
      o.closeCode = code;
      resolve();
    },
  });
  return o;
}

/** A Deno server that echoes binary messages, except the commands "!text" and "!close N". */
function echoServer() {
  const serverSides: Observed[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    const side = observe(fromWebSocket(socket));
    serverSides.push(side);
    socket.onmessage = (e) => {
      const command = new TextDecoder().decode(e.data as ArrayBuffer);
      if (command === "!text") socket.send("some text");
      else if (command.startsWith("!close ")) socket.close(Number(command.slice(7)), "bye");
      else socket.send(e.data);
    };
    return response;
  });
  return { server, serverSides, url: `ws://127.0.0.1:${server.addr.port}/peer` };
}

Deno.test("ws client: binary messages of every length class echo intact", async () => {
  const { server, url } = echoServer();
  const client = observe(new WsClient(url, limits));
  try {
    await waitFor(() => client.socket.isOpen, "open");
    assert.equal(client.opened, true);
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 1024 * 1024 + 3];
    for (const [i, size] of sizes.entries()) {
      const payload = new Uint8Array(size).map((_, j) => (j * 7 + i) & 0xff);
      client.socket.send(payload);
      await waitFor(() => client.messages.length === i + 1, `echo of ${size}`);
      assert.deepEqual(new Uint8Array(client.messages[i] as ArrayBuffer), payload, `size ${size}`);
    }
    assert.equal(client.socket.bufferedAmount, 0);
  } finally {
    client.socket.close(1000, "done");
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("ws client: text from the server arrives as a string; the server's close code is seen", async () => {
  const { server, url } = echoServer();
  const client = observe(new WsClient(url, limits));
  try {
    await waitFor(() => client.socket.isOpen, "open");
    const command = (text: string) => client.socket.send(new TextEncoder().encode(text));
    command("x");
    await waitFor(() => client.messages.length === 1, "echo");
    command("!text");
    await waitFor(() => client.messages.length === 2, "text");
    assert.equal(client.messages[1], "some text");
    command("!close 4001");
    await client.closed;
    assert.equal(client.closeCode, 4001);
    assert.equal(client.socket.isOpen, false);
    client.socket.send(new Uint8Array(1)); // ignored after close, no throw
  } finally {
    await server.shutdown();
  }
});

Deno.test("ws client: a close from our side completes the handshake on both ends", async () => {
  const { server, serverSides, url } = echoServer();
  const client = observe(new WsClient(url, limits));
  await waitFor(() => client.socket.isOpen && serverSides.length === 1, "open");
  client.socket.close(4003, "peer removed");
  client.socket.close(1000, "twice is harmless");
  await client.closed;
  await serverSides[0].closed;
  assert.equal(serverSides[0].closeCode, 4003);
  assert.equal(client.closeCode, 4003, "the server echoes our code");
  await server.shutdown();
});

Deno.test("ws client: refused, non-WebSocket and closed-while-connecting all end in one close", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const refused = observe(new WsClient(`ws://127.0.0.1:${deadPort}`, limits));
  await refused.closed;
  assert.equal(refused.closeCode, 1006);
  assert.equal(refused.opened, false);

  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    return new Response("no", { status: 426 });
  });
  const notWs = observe(new WsClient(`ws://127.0.0.1:${http.addr.port}`, limits));
  await notWs.closed;
  assert.equal(notWs.closeCode, 1006);
  assert.equal(notWs.opened, false);

  const early = observe(new WsClient(`ws://127.0.0.1:${http.addr.port}`, limits));
  early.socket.close(1000, "changed my mind");
  await early.closed;
  assert.equal(early.opened, false);
  await http.shutdown();

  assert.throws(() => new WsClient("wss://127.0.0.1:1", limits), /only ws:\/\//);
  assert.throws(() => new WsClient("not a url", limits));
});

Deno.test("ws client: 8 KiB round trips do not stall on Nagle's algorithm", async () => {
  const { server, url } = echoServer();
  const client = observe(new WsClient(url, limits));
  try {
    await waitFor(() => client.socket.isOpen, "open");
    const payload = new Uint8Array(8 * 1024);
    const start = performance.now();
    for (let i = 1; i <= 20; i++) {
      const echoed = client.nextMessage();
      client.socket.send(payload);
      await echoed;
    }
    // With the stall each round trip costs ~40 ms (800 ms for 20); without, well under 1 ms.
    const elapsedMs = performance.now() - start;
    assert.ok(elapsedMs < 400, `20 round trips took ${elapsedMs.toFixed(1)} ms`);
  } finally {
    client.socket.close(1000, "done");
    await client.closed;
    await server.shutdown();
  }
});

// A hand-written server, for what Deno's server never sends: fragments, pings, bad frames.
function rawServer(script: (conn: Deno.TcpConn) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    try {
      const head = await readHead(conn);
      const key = /sec-websocket-key: *(\S+)/i.exec(head)![1];
      const digest = await crypto.subtle.digest(
        "SHA-1",
        new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
      );
      const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
      await conn.write(new TextEncoder().encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      ));
      await script(conn);
    } finally {
      conn.close();
    }
  })();
  const url = `ws://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  return { url, done: done.finally(() => listener.close()) };
}

async function readHead(conn: Deno.TcpConn): Promise<string> {
  let text = "";
  const buffer = new Uint8Array(1024);
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("eof");
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text;
}

function serverFrame(fin: boolean, opcode: number, payload: Uint8Array, masked = false) {
  assert.ok(payload.length < 126);
  const out = new Uint8Array(2 + payload.length);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = (masked ? 0x80 : 0) | payload.length;
  out.set(payload, 2);
  return out;
}

/** Reads one masked client frame (small payloads only). */
async function readClientFrame(conn: Deno.TcpConn) {
  const head = new Uint8Array(6);
  for (let at = 0; at < 6;) at += (await conn.read(head.subarray(at)))!;
  const length = head[1] & 0x7f;
  const payload = new Uint8Array(length);
  for (let at = 0; at < length;) at += (await conn.read(payload.subarray(at)))!;
  for (let i = 0; i < length; i++) payload[i] ^= head[2 + (i & 3)];
  return { opcode: head[0] & 0x0f, masked: (head[1] & 0x80) !== 0, payload };
}

Deno.test("ws client: fragments are reassembled and pings answered with pongs", async () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  let pong: { opcode: number; masked: boolean; payload: Uint8Array } | null = null;
  const { url, done } = rawServer(async (conn) => {
    await conn.write(serverFrame(false, 0x2, bytes("hel")));
    await conn.write(serverFrame(true, 0x9, bytes("ping!"))); // control frame between fragments
    pong = await readClientFrame(conn);
    await conn.write(serverFrame(false, 0x0, bytes("lo ")));
    await conn.write(serverFrame(true, 0x0, bytes("world")));
    await conn.write(serverFrame(true, 0x8, new Uint8Array([0x03, 0xe8])));
    await readClientFrame(conn); // the echoed close
  });
  const client = observe(new WsClient(url, limits));
  await client.closed;
  await done;
  assert.equal(client.messages.length, 1);
  assert.equal(new TextDecoder().decode(client.messages[0] as ArrayBuffer), "hello world");
  assert.deepEqual(pong, { opcode: 0xa, masked: true, payload: bytes("ping!") });
  assert.equal(client.closeCode, 1000);
});

Deno.test("ws client: protocol violations drop the connection", async () => {
  const violations: Uint8Array[] = [
    serverFrame(true, 0x2, new Uint8Array(3), true), // masked by the server
    serverFrame(true, 0x0, new Uint8Array(3)), // continuation of nothing
    serverFrame(true, 0x5, new Uint8Array(3)), // reserved opcode
    new Uint8Array([0x82 | 0x40, 0]), // RSV1 without an extension
    new Uint8Array([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0]), // 4 GiB frame
  ];
  for (const bad of violations) {
    const { url, done } = rawServer(async (conn) => {
      await conn.write(bad);
      await conn.read(new Uint8Array(16)).catch(() => null); // until the client hangs up
    });
    const client = observe(new WsClient(url, { messageBytesMax: 1024 }));
    await client.closed;
    await done;
    assert.equal(client.closeCode, 1006, `frame ${bad.slice(0, 2)}`);
    assert.equal(client.messages.length, 0);
  }
});
