// The session's ordering rules, made deterministic with a scripted replica whose writes and
// read barriers complete only when the test says so: replies in command order whatever the
// completion order, reads held back until earlier writes are answered (and vice versa), and
// the window bounding commands in flight.

import assert from "node:assert/strict";
import type { CommandResult, KeyValue } from "../kv/mod.ts";
import type { BarrierOutcome, Replica, WriteCommand, WriteOutcome } from "../replica/replica.ts";
import { encoder, ERR, OK, startTestServer, TextClient, VALUE } from "./test_helpers.ts";
import type { TextServerOptions } from "./server.ts";

/** A replica stand-in: every write and barrier waits in a queue until released. */
class ScriptedReplica {
  readonly node = { role: "leader", leader: "a" };
  readonly writes: { command: WriteCommand; release: (o: WriteOutcome) => void }[] = [];
  readonly barriers: { release: (o: BarrierOutcome) => void }[] = [];
  readonly store = new Map<string, string>();
  readonly sm = {
    get: (key: string): KeyValue | null => {
      const value = this.store.get(key);
      if (value === undefined) return null;
      return {
        key,
        value: encoder.encode(value),
        createRevision: 1,
        modRevision: 1,
        version: 1,
        expiresAt: null,
      };
    },
  };

  write(command: WriteCommand): Promise<WriteOutcome> {
    return new Promise((release) => this.writes.push({ command, release }));
  }

  readBarrier(): Promise<BarrierOutcome> {
    return new Promise((release) => this.barriers.push({ release }));
  }

  clock(): number {
    return 0;
  }

  members() {
    return [];
  }

  /** Applies write `i` to the store and answers it with `version`. */
  applyWrite(i: number, version: number): void {
    const { command, release } = this.writes[i];
    if (command.type === "put") {
      this.store.set(command.key, new TextDecoder().decode(command.value));
    }
    const result: CommandResult = { type: "put", revision: i + 1, version };
    release({ type: "applied", result });
  }
}

async function withScripted(
  fn: (replica: ScriptedReplica, client: TextClient, port: number) => Promise<void>,
  o: Partial<TextServerOptions> = {},
): Promise<void> {
  const replica = new ScriptedReplica();
  const server = startTestServer(replica as unknown as Replica, o);
  const client = await TextClient.connect(server.port);
  try {
    await fn(replica, client, server.port);
  } finally {
    // Nothing may stay pending: release whatever is still waiting.
    for (const w of replica.writes) w.release({ type: "timeout" });
    for (const b of replica.barriers) b.release({ type: "timeout" });
    client.close();
    await server.close();
  }
}

/** Lets the server read, parse and start what it can. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
}

Deno.test("session: replies keep command order when writes complete out of order", async () => {
  await withScripted(async (replica, client) => {
    await client.send("set a 0 1\r\n1\r\nset b 0 1\r\n2\r\nset c 0 1\r\n3\r\n");
    await until(() => replica.writes.length === 3, "three concurrent writes");
    replica.applyWrite(2, 7);
    replica.applyWrite(1, 8);
    await settle();
    replica.applyWrite(0, 9);
    assert.deepEqual(await client.replies(3), [OK(9), OK(8), OK(7)]);
  });
});

Deno.test("session: a read waits for earlier writes; a write waits for earlier reads", async () => {
  await withScripted(async (replica, client) => {
    await client.send("set k 0 1\r\nx\r\nget k\r\nset k 0 1\r\ny\r\n");
    await until(() => replica.writes.length === 1, "the first write");
    await settle();
    assert.equal(replica.barriers.length, 0, "the get must not start before the set is answered");
    replica.applyWrite(0, 1);
    await until(() => replica.barriers.length === 1, "the read barrier");
    await settle();
    assert.equal(replica.writes.length, 1, "the second set must wait for the get");
    replica.barriers[0].release({ type: "ok" });
    await until(() => replica.writes.length === 2, "the second write");
    replica.applyWrite(1, 2);
    assert.deepEqual(await client.replies(3), [OK(1), VALUE("x"), OK(2)]);
  });
});

Deno.test("session: at most windowMax commands are in flight; the rest wait unread", async () => {
  await withScripted(async (replica, client) => {
    let input = "";
    for (let i = 0; i < 20; i++) input += `set k${i} 0 1\r\nv\r\n`;
    await client.send(input);
    await until(() => replica.writes.length === 4, "a full window");
    await settle();
    assert.equal(replica.writes.length, 4);
    for (let i = 0; i < 20; i++) {
      await until(() => replica.writes.length > i, `write ${i}`);
      replica.applyWrite(i, 1);
    }
    assert.deepEqual(await client.replies(20), Array(20).fill(OK(1)));
  }, { limits: { windowMax: 4 } });
});

Deno.test("session: unavailable and timed-out operations answer ERR_INTERNAL in place", async () => {
  await withScripted(async (replica, client) => {
    await client.send("set a 0 1\r\n1\r\nset b 0 1\r\n2\r\nget a\r\n");
    await until(() => replica.writes.length === 2, "two writes");
    replica.writes[0].release({ type: "unavailable", reason: "no leader" });
    replica.writes[1].release({ type: "timeout" });
    await until(() => replica.barriers.length === 1, "the read");
    replica.barriers[0].release({ type: "timeout" });
    assert.deepEqual(await client.replies(3), [
      ERR("ERR_INTERNAL"),
      ERR("ERR_INTERNAL"),
      ERR("ERR_INTERNAL"),
    ]);
  });
});

Deno.test("session: a client that vanishes mid-pipeline does not disturb the next one", async () => {
  await withScripted(async (replica, client, port) => {
    await client.send("set a 0 1\r\n1\r\nget a\r\n");
    await until(() => replica.writes.length === 1, "the write");
    client.close();
    await settle();
    replica.applyWrite(0, 1); // its reply has nowhere to go
    const fresh = await TextClient.connect(port);
    try {
      await fresh.send("get a\r\n");
      let answered = false;
      const reply = fresh.reply().finally(() => answered = true);
      // The vanished client's get may still take a barrier: release each one as it comes.
      let released = 0;
      await until(() => {
        while (released < replica.barriers.length) {
          replica.barriers[released++].release({ type: "ok" });
        }
        return answered;
      }, "the fresh read");
      assert.deepEqual(await reply, VALUE("1"));
    } finally {
      fresh.close();
    }
  });
});
