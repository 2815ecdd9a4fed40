import assert from "node:assert/strict";
import type { Hono } from "hono";
import { json, type Node, put, single } from "./test_helpers.ts";

function txn(app: Hono, body: unknown, headers: Record<string, string> = {}) {
  return app.request("/v1/txn", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function ok(app: Hono, body: unknown, headers: Record<string, string> = {}) {
  const res = await txn(app, body, headers);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as { succeeded: boolean; revision: number; results: unknown[] };
}

async function value(n: Node, key: string): Promise<string | null> {
  const res = await n.app.request(`/v1/kv/${key}`);
  return res.status === 200 ? await res.text() : null;
}

Deno.test("POST /v1/txn: success branch, atomic, one revision for every write", async () => {
  const n = await single();
  try {
    await put(n, "gone", "x");
    await put(n, "bin", new Uint8Array([0xfe, 0xff]));
    const r = await ok(n.app, {
      compare: [{ key: "lock", target: "exists", op: "==", value: false }],
      success: [
        { op: "put", key: "lock", value: "me" },
        { op: "put", key: "data", valueBase64: "AAEC" },
        { op: "get", key: "lock" },
        { op: "get", key: "bin" },
        { op: "get", key: "nothing" },
        { op: "delete", key: "gone" },
        { op: "delete", key: "never" },
      ],
      failure: [{ op: "put", key: "lost", value: "race" }],
    });
    const rev = n.replica.sm.revision;
    assert.deepEqual(r, {
      succeeded: true,
      revision: rev,
      results: [
        { op: "put", revision: rev, version: 1 },
        { op: "put", revision: rev, version: 1 },
        { op: "get", found: true, value: "me", revision: rev, version: 1 },
        { op: "get", found: true, valueBase64: "/v8=", revision: rev - 1, version: 1 },
        { op: "get", found: false },
        { op: "delete", deleted: true },
        { op: "delete", deleted: false },
      ],
    });
    assert.equal(await value(n, "lock"), "me");
    assert.equal(await value(n, "gone"), null);
    assert.equal(await value(n, "lost"), null);
    // The same compare now fails: the failure branch runs, at a new revision.
    const again = await ok(n.app, {
      compare: [{ key: "lock", target: "exists", op: "==", value: false }],
      success: [{ op: "put", key: "lock", value: "other" }],
      failure: [{ op: "get", key: "lock" }, { op: "put", key: "lost", value: "race", ttl: 60 }],
    });
    assert.equal(again.succeeded, false);
    assert.equal(again.revision, rev + 1);
    assert.deepEqual(again.results, [
      { op: "get", found: true, value: "me", revision: rev, version: 1 },
      { op: "put", revision: rev + 1, version: 1 },
    ]);
    assert.equal(await value(n, "lock"), "me");
    const ttl = await n.app.request("/v1/kv/lost");
    assert.ok(ttl.headers.get("x-kv-expires-at"), "ttl applied");
    await ttl.body?.cancel();
    // A read-only txn leaves the store's revision alone; an empty one is fine too.
    const readOnly = await ok(n.app, { success: [{ op: "get", key: "lock" }] });
    assert.equal(readOnly.revision, rev + 1);
    assert.deepEqual(await ok(n.app, {}), { succeeded: true, revision: rev + 1, results: [] });
  } finally {
    await n.close();
  }
});

Deno.test("POST /v1/txn: every compare target and operator", async () => {
  const n = await single();
  try {
    await put(n, "k", "m"); // version 1
    const k = await put(n, "k", "m"); // version 2
    await put(n, "b", new Uint8Array([0x80]));
    const holds = async (compare: unknown) =>
      (await ok(n.app, { compare: [compare], success: [] })).succeeded;
    const cases: [unknown, boolean][] = [
      [{ key: "k", target: "value", op: "==", value: "m" }, true],
      [{ key: "k", target: "value", op: "!=", value: "m" }, false],
      [{ key: "k", target: "value", op: "<", value: "n" }, true],
      [{ key: "k", target: "value", op: ">", value: "n" }, false],
      [{ key: "k", target: "value", op: ">", value: "l" }, true],
      [{ key: "b", target: "value", op: "==", valueBase64: "gA==" }, true],
      [{ key: "b", target: "value", op: ">", value: "z" }, true], // bytes: 0x80 > 0x7a
      [{ key: "absent", target: "value", op: "!=", value: "m" }, false], // etcd: false if absent
      [{ key: "k", target: "version", op: "==", value: 2 }, true],
      [{ key: "k", target: "version", op: "<", value: 2 }, false],
      [{ key: "k", target: "version", op: ">", value: 1 }, true],
      [{ key: "k", target: "version", op: "!=", value: 2 }, false],
      [{ key: "absent", target: "version", op: "==", value: 0 }, true],
      [{ key: "k", target: "revision", op: "==", value: k.revision }, true],
      [{ key: "k", target: "revision", op: "<", value: k.revision }, false],
      [{ key: "k", target: "revision", op: ">", value: k.revision - 1 }, true],
      [{ key: "k", target: "revision", op: "!=", value: k.revision }, false],
      [{ key: "absent", target: "revision", op: "==", value: 0 }, true],
      [{ key: "k", target: "exists", op: "==", value: true }, true],
      [{ key: "k", target: "exists", op: "!=", value: true }, false],
      [{ key: "absent", target: "exists", op: "==", value: true }, false],
      [{ key: "absent", target: "exists", op: "!=", value: true }, true],
    ];
    for (const [compare, expected] of cases) {
      assert.equal(await holds(compare), expected, JSON.stringify(compare));
    }
    // All compares must hold.
    const both = await ok(n.app, {
      compare: [
        { key: "k", target: "exists", op: "==", value: true },
        { key: "k", target: "version", op: "==", value: 7 },
      ],
    });
    assert.equal(both.succeeded, false);
  } finally {
    await n.close();
  }
});

Deno.test("POST /v1/txn: bad input is a 400 or 413 naming the field path", async () => {
  const n = await single({ maxValueBytes: 1000 });
  try {
    const put = (key: string) => ({ op: "put", key, value: "v" });
    const cases: [unknown, number, RegExp][] = [
      ["{nope", 400, /^body: not valid JSON/],
      [[], 400, /^body: expected an object/],
      [{ sucess: [] }, 400, /^sucess: unknown field/],
      [{ success: {} }, 400, /^success: expected an array/],
      [
        { success: [put("a"), put("b"), put("c"), { op: "put", key: "" }] },
        400,
        /^success\[3\]\.key: must not be empty/,
      ],
      [
        { success: [{ op: "upsert", key: "a" }] },
        400,
        /^success\[0\]\.op: expected "put", "get" or "delete"/,
      ],
      [
        { failure: [{ op: "get", key: "a", value: "x" }] },
        400,
        /^failure\[0\]\.value: unknown field/,
      ],
      [{ success: [{ op: "put", key: "a" }] }, 400, /^success\[0\]\.value: give exactly one/],
      [
        { success: [{ op: "put", key: "a", value: "x", valueBase64: "eA==" }] },
        400,
        /^success\[0\]\.value: give exactly one/,
      ],
      [
        { success: [{ op: "put", key: "a", valueBase64: "***" }] },
        400,
        /^success\[0\]\.valueBase64: expected base64/,
      ],
      [
        { success: [{ op: "put", key: "a", value: "x", ttl: 0 }] },
        400,
        /^success\[0\]\.ttl: must be at least 1/,
      ],
      [
        { success: [{ op: "put", key: "a", value: "x", ttl: 1.5 }] },
        400,
        /^success\[0\]\.ttl: expected whole seconds/,
      ],
      [
        { compare: [{ key: "a", target: "size", op: "==", value: 1 }] },
        400,
        /^compare\[0\]\.target: expected "value", "version", "revision" or "exists"/,
      ],
      [
        { compare: [{ key: "a", target: "exists", op: "<", value: true }] },
        400,
        /^compare\[0\]\.op: expected "==" or "!=" for exists/,
      ],
      [
        { compare: [{ key: "a", target: "version", op: "=", value: 1 }] },
        400,
        /^compare\[0\]\.op: expected "==", "!=", "<" or ">"/,
      ],
      [
        { compare: [{ key: "a", target: "version", op: "==", value: -1 }] },
        400,
        /^compare\[0\]\.value: expected a non-negative integer/,
      ],
      [
        { compare: [{ key: "a", target: "exists", op: "==", value: "yes" }] },
        400,
        /^compare\[0\]\.value: expected true or false/,
      ],
      [
        { success: Array.from({ length: 129 }, (_, i) => put(`k${i}`)) },
        400,
        /^success: at most 128 operations/,
      ],
      [
        {
          compare: Array.from(
            { length: 129 },
            () => ({ key: "a", target: "exists", op: "==", value: true }),
          ),
        },
        400,
        /^compare: at most 128 compares/,
      ],
      [
        { failure: [put("x".repeat(1025))] },
        413,
        /^failure\[0\]\.key: 1025 bytes is over the limit of 1024 bytes/,
      ],
      [
        { success: [{ op: "put", key: "a", value: "x".repeat(1001) }] },
        413,
        /^success\[0\]\.value: 1001 bytes is over the limit of 1000 bytes/,
      ],
      [
        { compare: [{ key: "a", target: "value", op: "==", valueBase64: btoa("x".repeat(1001)) }] },
        413,
        /^compare\[0\]\.valueBase64: 1001 bytes/,
      ],
      [
        {
          success: [{ op: "put", key: "a", value: "x".repeat(600) }],
          failure: [{ op: "put", key: "b", value: "y".repeat(600) }],
        },
        413,
        /^body: the values of the transaction total 1200 bytes/,
      ],
    ];
    for (const [body, status, detail] of cases) {
      const res = await txn(n.app, body);
      const problem = await json(res);
      assert.equal(res.status, status, `${JSON.stringify(body).slice(0, 80)}: ${problem.detail}`);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.match(String(problem.detail), detail);
    }
    // 128 operations is fine.
    const many = await ok(n.app, { success: Array.from({ length: 128 }, (_, i) => put(`k${i}`)) });
    assert.equal(many.results.length, 128);
    assert.equal(new Set(many.results.map((r) => (r as { revision: number }).revision)).size, 1);
    // Nothing from the refused requests was stored.
    assert.equal(n.replica.sm.size, 128);
  } finally {
    await n.close();
  }
});

Deno.test("POST /v1/txn: a body over the limit is 413 before or while reading it", async () => {
  const n = await single({ maxValueBytes: 1000 });
  try {
    const limit = 2 * 1000 + 1024 * 1024;
    const big = JSON.stringify({ success: [{ op: "get", key: "a" }], pad: "x".repeat(limit) });
    const declared = await txn(n.app, big);
    assert.equal(declared.status, 413);
    assert.match(String((await json(declared)).detail), /^body: \d+ bytes is over the limit/);
    // Streamed without a Content-Length: cut off once past the limit.
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 4 * limit) controller.close();
        else {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await n.app.request("/v1/txn", { method: "POST", body: stream });
    assert.equal(res.status, 413);
    await res.body?.cancel();
    assert.ok(sent < 2 * limit, `stopped reading early (${sent} bytes pulled)`);
    assert.equal(n.replica.sm.size, 0);
  } finally {
    await n.close();
  }
});

Deno.test("POST /v1/txn: Idempotency-Key applies a retried transaction once", async () => {
  const n = await single();
  try {
    const body = {
      compare: [{ key: "n", target: "version", op: "==", value: 0 }],
      success: [{ op: "put", key: "n", value: "1" }],
      failure: [{ op: "put", key: "n", value: "lost" }],
    };
    const first = await ok(n.app, body, { "idempotency-key": "retry-1" });
    const second = await ok(n.app, body, { "idempotency-key": "retry-1" });
    assert.deepEqual(second, first);
    assert.equal(first.succeeded, true);
    assert.equal(await value(n, "n"), "1");
    // Without the key the retry runs again (and takes the failure branch).
    const third = await ok(n.app, body);
    assert.equal(third.succeeded, false);
    const tooLong = await txn(n.app, body, { "idempotency-key": "k".repeat(257) });
    assert.equal(tooLong.status, 400);
    assert.match(String((await json(tooLong)).detail), /^Idempotency-Key: /);
  } finally {
    await n.close();
  }
});
