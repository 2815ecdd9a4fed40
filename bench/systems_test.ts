// Pure unit tests of the dialects: how each system's put and linearizable get look.

import assert from "node:assert/strict";
import { base64Of, dialectOf } from "./systems.ts";

const value = new TextEncoder().encode("abc");

Deno.test("raftkv dialect: PUT/GET /v1/kv/<key>, the raw value as the body", () => {
  const d = dialectOf("raftkv", value);
  const put = d.put("http://h:1", "bench-7");
  assert.equal(put.url, "http://h:1/v1/kv/bench-7");
  assert.equal(put.method, "PUT");
  assert.deepEqual(put.body, value);
  assert.deepEqual(d.get("http://h:1", "bench-7"), {
    url: "http://h:1/v1/kv/bench-7",
    method: "GET",
    body: null,
  });
});

Deno.test("etcd dialect: POST /v3/kv/put and /v3/kv/range, base64 JSON, linearizable", () => {
  const d = dialectOf("etcd", value);
  const put = d.put("http://h:2", "bench-7");
  assert.equal(put.url, "http://h:2/v3/kv/put");
  assert.equal(put.method, "POST");
  assert.deepEqual(JSON.parse(String(put.body)), { key: "YmVuY2gtNw==", value: "YWJj" });
  const get = d.get("http://h:2", "bench-7");
  assert.equal(get.url, "http://h:2/v3/kv/range");
  // No "serializable": etcd's default range is linearizable, as raftkv's GET is.
  assert.deepEqual(JSON.parse(String(get.body)), { key: "YmVuY2gtNw==" });
});

Deno.test("base64Of: bytes and UTF-8 text", () => {
  assert.equal(base64Of(new Uint8Array([0, 255, 1])), "AP8B");
  assert.equal(base64Of("é"), "w6k=");
});
