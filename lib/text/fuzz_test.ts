// Seeded fuzz of the whole server: random bytes and near-valid commands, one connection each,
// against a real single-node replica. The server must never crash, every reply must be one of
// the documented forms, memory must stay bounded, and a fresh connection must work afterwards.
// A failure names its seed and input number; the same seed replays the same inputs.

import assert from "node:assert/strict";
import {
  fuzzInput,
  OK,
  seededRandom,
  singleReplica,
  startTestServer,
  TextClient,
  type TextReply,
  VALUE,
} from "./test_helpers.ts";

const SEEDS = [11, 12, 13, 14, 15, 16, 17, 18];
const INPUTS_PER_SEED = 400;
const CONCURRENCY = 8;

Deno.test("text fuzz: the server survives and answers only in documented forms", async () => {
  const replica = await singleReplica({ valueBytesMax: 4096 });
  const server = startTestServer(replica, {
    maxValueBytes: 4096,
    limits: { skipBytesMax: 65_536, windowMax: 16 },
  });
  try {
    let heapAfterFirst: number | undefined;
    let replies = 0;
    let inputs = 0;
    for (const seed of SEEDS) {
      const random = seededRandom(seed);
      const all = Array.from({ length: INPUTS_PER_SEED }, () => fuzzInput(random));
      for (let at = 0; at < all.length; at += CONCURRENCY) {
        const batch = all.slice(at, at + CONCURRENCY);
        const results = await Promise.all(batch.map(async (input, i) => {
          const where = `seed ${seed} input ${at + i}`;
          try {
            return await exchange(server.port, input);
          } catch (e) {
            throw new Error(`${where}: ${e instanceof Error ? e.message : e}`);
          }
        }));
        for (const r of results) replies += r.length;
        inputs += batch.length;
      }
      // The first seed warms everything up (code, the key space, the Raft log); after it, the
      // heap must not keep growing with the number of inputs.
      heapAfterFirst ??= Deno.memoryUsage().heapUsed;
    }
    const growthMiB = (Deno.memoryUsage().heapUsed - (heapAfterFirst ?? 0)) / 2 ** 20;
    console.log(
      `${inputs} fuzz inputs, ${replies} replies, heap growth ${growthMiB.toFixed(1)} MiB`,
    );
    assert.ok(replies > inputs, "the inputs did reach the server");
    assert.ok(growthMiB < 48, `memory bounded (heap grew ${growthMiB.toFixed(1)} MiB)`);

    // A fresh connection still works.
    const client = await TextClient.connect(server.port);
    try {
      await client.send("set after-fuzz 0 2\r\nok\r\nget after-fuzz\r\n");
      assert.deepEqual(await client.replies(2), [OK(1), VALUE("ok")]);
    } finally {
      client.close();
    }
  } finally {
    await server.close();
    await replica.stop();
  }
});

/** Sends one input, half-closes, and reads every reply (strictly parsed) until the server
 * closes. A server that closed first (lost framing) may reset the connection under our write. */
async function exchange(port: number, input: Uint8Array): Promise<TextReply[]> {
  const client = await TextClient.connect(port);
  try {
    let reset = false;
    try {
      await client.send(input);
      await client.closeWrite();
    } catch {
      reset = true;
    }
    return await client.untilClosed(reset);
  } finally {
    client.close();
  }
}
