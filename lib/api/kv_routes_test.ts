// PUT/GET/DELETE /v1/kv/{key} and the request edges the HTTP fuzz (fuzz_test.ts) found wanting:
// bodies read only up to the limit, Idempotency-Key checked and never answered with another
// kind of write's result, If-Match "0", HEAD on the watch route, read time-outs that say so.

import assert from "node:assert/strict";
import { json, put, single } from "./test_helpers.ts";

/** A body stream of `total` bytes that counts how many bytes were pulled from it. */
function countingBody(total: number): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const chunk = new Uint8Array(64 * 1024).fill(120);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      const next = chunk.subarray(0, Math.min(chunk.byteLength, total - pulled));
      pulled += next.byteLength;
      controller.enqueue(next);
    },
  });
  return { body, pulled: () => pulled };
}

Deno.test("PUT /v1/kv: a streamed value over the limit is 413 and is not read to its end", async () => {
  const n = await single({ maxValueBytes: 100_000 });
  try {
    const { body, pulled } = countingBody(64 * 1024 * 1024);
    const res = await n.app.request("/v1/kv/big", { method: "PUT", body });
    assert.equal(res.status, 413);
    assert.match(
      String((await json(res)).detail),
      /^value: \d+ bytes is over the limit of 100000 bytes/,
    );
    assert.ok(pulled() < 1024 * 1024, `read ${pulled()} bytes of a 64 MiB body`);
    const absent = await n.app.request("/v1/kv/big");
    assert.equal(absent.status, 404, "nothing stored");
    await absent.body?.cancel();
    // A streamed value within the limit is stored whole.
    const fits = countingBody(90_000);
    const ok = await n.app.request("/v1/kv/fits", { method: "PUT", body: fits.body });
    assert.equal(ok.status, 200, await ok.clone().text());
    await ok.body?.cancel();
    const got = await n.app.request("/v1/kv/fits");
    assert.equal((await got.arrayBuffer()).byteLength, 90_000);
  } finally {
    await n.close();
  }
});

Deno.test("PUT/DELETE /v1/kv: Idempotency-Key is checked, and a key reused for another kind of write is 409", async () => {
  const n = await single();
  try {
    const long = await n.app.request("/v1/kv/a", {
      method: "PUT",
      headers: { "idempotency-key": "k".repeat(257) },
      body: "x",
    });
    assert.equal(long.status, 400);
    assert.equal((await json(long)).detail, "Idempotency-Key: at most 256 characters");
    const longDelete = await n.app.request("/v1/kv/a", {
      method: "DELETE",
      headers: { "idempotency-key": "k".repeat(257) },
    });
    assert.equal(longDelete.status, 400);
    await longDelete.body?.cancel();

    const txn = await n.app.request("/v1/txn", {
      method: "POST",
      headers: { "idempotency-key": "shared" },
      body: JSON.stringify({ success: [{ op: "put", key: "t", value: "1" }] }),
    });
    assert.equal(txn.status, 200);
    await txn.body?.cancel();
    const revision = n.replica.sm.revision;
    for (const method of ["PUT", "DELETE"]) {
      const res = await n.app.request("/v1/kv/t", {
        method,
        headers: { "idempotency-key": "shared" },
        body: method === "PUT" ? "2" : undefined,
      });
      assert.equal(res.status, 409, method);
      assert.equal(
        (await json(res)).detail,
        `Idempotency-Key: already used for a transaction, not a ${method}`,
      );
    }
    // A PUT's key replayed for a DELETE: not the PUT's {revision, version} as if deleted.
    const first = await n.app.request("/v1/kv/p", {
      method: "PUT",
      headers: { "idempotency-key": "p1" },
      body: "v",
    });
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const del = await n.app.request("/v1/kv/p", {
      method: "DELETE",
      headers: { "idempotency-key": "p1" },
    });
    assert.equal(del.status, 409);
    assert.equal((await json(del)).detail, "Idempotency-Key: already used for a PUT, not a DELETE");
    assert.equal(n.replica.sm.get("t", 0)?.value.length, 1, "nothing applied twice");
    assert.equal(n.replica.sm.get("p", 0)?.version, 1);
    assert.ok(n.replica.sm.revision >= revision);
  } finally {
    await n.close();
  }
});

Deno.test('PUT/DELETE /v1/kv: If-Match "0" is a 400 (revisions start at 1), not a failed write', async () => {
  const n = await single();
  try {
    await put(n, "k", "v");
    for (const method of ["PUT", "DELETE"]) {
      const res = await n.app.request("/v1/kv/k", {
        method,
        headers: { "if-match": '"0"' },
        body: method === "PUT" ? "w" : undefined,
      });
      assert.equal(res.status, 400, method);
      assert.equal((await json(res)).detail, "If-Match: revisions start at 1");
    }
  } finally {
    await n.close();
  }
});

Deno.test("HEAD /v1/watch answers the head and holds no subscription", async () => {
  const n = await single();
  try {
    const res = await n.app.request("/v1/watch", { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(await res.text(), "");
    assert.equal(n.hub.subscriberCount, 0);
  } finally {
    await n.close();
  }
});

Deno.test("GET /v1/kv?minRevision beyond what this node applied: 504 naming minRevision", async () => {
  const n = await single({ requestTimeoutMs: 200 });
  try {
    const res = await n.app.request("/v1/kv/k?minRevision=1000000");
    assert.equal(res.status, 504);
    assert.match(
      String((await json(res)).detail),
      /^minRevision: this node had not applied revision 1000000 in time \(it is at \d+\)/,
    );
  } finally {
    await n.close();
  }
});

Deno.test("JSON bodies: invalid UTF-8 is a 400, and an oversized membership body a 413", async () => {
  const n = await single();
  try {
    const body = new Uint8Array([
      ...new TextEncoder().encode('{"success":[{"op":"get","key":"'),
      0xff,
      ...new TextEncoder().encode('"}]}'),
    ]);
    const txn = await n.app.request("/v1/txn", { method: "POST", body });
    assert.equal(txn.status, 400);
    assert.equal((await json(txn)).detail, "body: not valid UTF-8");
    const odd = await n.app.request("/v1/txn", {
      method: "POST",
      body: JSON.stringify({ "su ccess": [] }),
    });
    assert.equal((await json(odd)).detail, 'body["su ccess"]: unknown field');
    for (const path of ["/v1/members", "/v1/leader/transfer"]) {
      const { body: big } = countingBody(1024 * 1024);
      const res = await n.app.request(path, { method: "POST", body: big });
      assert.equal(res.status, 413, path);
      assert.match(String((await json(res)).detail), /^body: \d+ bytes is over the limit of 65536/);
    }
  } finally {
    await n.close();
  }
});

Deno.test("a known path with the wrong method is 405 with Allow; an unknown path is 404", async () => {
  const n = await single({});
  try {
    const cases: [string, string, number, string | null][] = [
      ["PATCH", "/v1/kv/a/b", 405, "DELETE, GET, HEAD, PUT"],
      ["POST", "/v1/status", 405, "GET, HEAD"],
      ["PUT", "/v1/members", 405, "GET, HEAD, POST"],
      ["GET", "/v1/members/n2", 405, "DELETE"],
      ["DELETE", "/v1/txn", 405, "POST"],
      ["POST", "/", 405, "GET, HEAD"],
      ["GET", "/v1/nothing", 404, null],
      ["GET", "/v1/members/n2/extra", 404, null],
    ];
    for (const [method, path, status, allow] of cases) {
      const res = await n.app.request(path, { method });
      assert.equal(res.status, status, `${method} ${path}`);
      assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
      const body = await json(res);
      assert.match(String(body.detail), status === 405 ? /^method: / : /^no route for /);
    }
  } finally {
    await n.close();
  }
});
