// The workload's requests tell "refused" (never sent) from "lost" (fate unknown).

import assert from "node:assert/strict";
import { freshConnectionClient, sendKv } from "./http.ts";

Deno.test("http: answered, refused at connect, and lost to a timeout", async () => {
  const http = freshConnectionClient();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(`${req.method} ${new URL(req.url).pathname}`, { status: 201 }),
  );
  // A listener that accepts and never answers.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })().catch(() => {});
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  try {
    const answered = await sendKv(http, `http://127.0.0.1:${server.addr.port}`, {
      method: "PUT",
      key: "a b",
      body: "x",
      timeoutMs: 2000,
    });
    assert.equal(answered.type, "answered");
    if (answered.type === "answered") {
      assert.equal(answered.result.status, 201);
      assert.equal(answered.result.text, "PUT /v1/kv/a%20b");
    }
    const refused = await sendKv(http, `http://127.0.0.1:${closedPort}`, {
      method: "GET",
      key: "a",
      timeoutMs: 2000,
    });
    assert.equal(refused.type, "refused", JSON.stringify(refused));
    const port = (silent.addr as Deno.NetAddr).port;
    const lost = await sendKv(http, `http://127.0.0.1:${port}`, {
      method: "GET",
      key: "a",
      timeoutMs: 200,
    });
    assert.equal(lost.type, "lost", JSON.stringify(lost));
  } finally {
    silent.close();
    await accepting;
    for (const conn of held) conn.close();
    await server.shutdown();
    http.close();
  }
});
