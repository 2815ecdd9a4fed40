// Pipelining and concurrency: replies strictly in command order, per-connection program order
// (a read sees the writes sent before it), bounded windows, many clients at once.

import assert from "node:assert/strict";
import {
  encoder,
  ERR,
  OK,
  singleReplica,
  startTestServer,
  TextClient,
  type TextReply,
  VALUE,
} from "./test_helpers.ts";

Deno.test("text: 10,000 pipelined commands in one write are answered in order", async () => {
  const replica = await singleReplica();
  const server = startTestServer(replica, { limits: { windowMax: 64 } });
  const client = await TextClient.connect(server.port);
  try {
    // Mostly sets over 100 keys, a get every 10th command and a bad line every 97th: every
    // reply is predictable only if commands ran in order (versions count the sets per key,
    // and each get must see the set just before it).
    const expected: TextReply[] = [];
    const versions = new Map<string, number>();
    const lines: string[] = [];
    let lastKey = "k0";
    let lastValue = "";
    for (let i = 0; i < 10_000; i++) {
      if (i % 97 === 96) {
        lines.push("nonsense\r\n");
        expected.push(ERR("ERR_CMD_ERR"));
      } else if (i % 10 === 9) {
        lines.push(`get ${lastKey}\r\n`);
        expected.push(VALUE(lastValue));
      } else {
        lastKey = `k${i % 100}`;
        lastValue = `v${i}`;
        const version = (versions.get(lastKey) ?? 0) + 1;
        versions.set(lastKey, version);
        lines.push(`set ${lastKey} 0 ${lastValue.length}\r\n${lastValue}\r\n`);
        expected.push(OK(version));
      }
    }
    const input = encoder.encode(lines.join(""));
    const started = performance.now();
    await Promise.all([
      client.send(input),
      (async () => {
        const replies = await client.replies(expected.length);
        for (let i = 0; i < expected.length; i++) {
          assert.deepEqual(replies[i], expected[i], `reply ${i}`);
        }
      })(),
    ]);
    const ms = performance.now() - started;
    console.log(`10,000 pipelined commands (${input.byteLength} bytes): ${ms.toFixed(0)} ms`);
  } finally {
    client.close();
    await server.close();
    await replica.stop();
  }
});

Deno.test("text: a get pipelined after writes sees them; later writes do not leak into it", async () => {
  const replica = await singleReplica();
  const server = startTestServer(replica);
  const client = await TextClient.connect(server.port);
  try {
    const rounds = 200;
    let input = "";
    const expected: TextReply[] = [];
    for (let i = 0; i < rounds; i++) {
      input += `set k 0 ${`a${i}`.length}\r\na${i}\r\nget k\r\n`;
      input += `set k 0 ${`b${i}`.length}\r\nb${i}\r\ngetm k\r\n`;
      expected.push(OK(4 * i + 1), VALUE(`a${i}`), OK(4 * i + 2), {
        type: "valueMeta",
        version: 4 * i + 2,
        exptime: 0,
        value: encoder.encode(`b${i}`),
      });
      // Two more sets to make the version arithmetic exact.
      input += "set k 0 1\r\nx\r\nset k 0 1\r\ny\r\n";
      expected.push(OK(4 * i + 3), OK(4 * i + 4));
    }
    await client.send(input);
    assert.deepEqual(await client.replies(expected.length), expected);
  } finally {
    client.close();
    await server.close();
    await replica.stop();
  }
});

Deno.test("text: 100 concurrent clients, each with its own keys", async () => {
  const replica = await singleReplica();
  const server = startTestServer(replica);
  try {
    const clients = await Promise.all(
      Array.from({ length: 100 }, () => TextClient.connect(server.port)),
    );
    try {
      await Promise.all(clients.map(async (c, i) => {
        const key = `client${i}`;
        for (let round = 1; round <= 5; round++) {
          const value = `${key}-${round}`;
          await c.send(`set ${key} 0 ${value.length}\r\n${value}\r\nget ${key}\r\n`);
          assert.deepEqual(await c.replies(2), [OK(2 * round - 1), VALUE(value)]);
          await c.send(`cas ${key} 0 ${2 * round - 1} 1\r\nz\r\n`);
          assert.deepEqual(await c.reply(), OK(2 * round));
        }
        await c.send(`delete ${key}\r\nget ${key}\r\n`);
        assert.deepEqual(await c.replies(2), [{ type: "deleted" }, ERR("ERR_NOT_FOUND")]);
      }));
    } finally {
      for (const c of clients) c.close();
    }
  } finally {
    await server.close();
    await replica.stop();
  }
});

Deno.test("text: large values pipelined past the byte window come back whole", async () => {
  const replica = await singleReplica();
  const server = startTestServer(replica, {
    maxValueBytes: 256 * 1024,
    limits: { windowBytesMax: 300 * 1024 },
  });
  const client = await TextClient.connect(server.port);
  try {
    const values = Array.from({ length: 8 }, (_, i) => new Uint8Array(200_000).fill(65 + i));
    const parts: Uint8Array[] = [];
    for (const [i, value] of values.entries()) {
      parts.push(encoder.encode(`set big${i} 0 ${value.byteLength}\r\n`), value);
      parts.push(encoder.encode(`\r\nget big${i}\r\n`));
    }
    const input = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      input.set(p, at);
      at += p.byteLength;
    }
    const [, replies] = await Promise.all([client.send(input), client.replies(16)]);
    for (const [i, value] of values.entries()) {
      assert.deepEqual(replies[2 * i], OK(1));
      assert.deepEqual(replies[2 * i + 1], { type: "value", value });
    }
  } finally {
    client.close();
    await server.close();
    await replica.stop();
  }
});
