import assert from "node:assert/strict";
import { main } from "./mod.ts";
import { closedPortUrl, startFakeServer } from "./fake_server.ts";
import { memoryIo } from "./test_helpers.ts";

async function withServer(
  fn: (url: string, s: ReturnType<typeof startFakeServer>) => Promise<void>,
) {
  const server = startFakeServer();
  try {
    await fn(server.url, server);
  } finally {
    await server.close();
  }
}

async function kv(url: string, args: string[], o: Parameters<typeof memoryIo>[0] = {}) {
  const m = memoryIo(o);
  const code = await main([...args, "--endpoint", url], m.io);
  return { code, out: m.out(), err: m.err(), bytes: m.outBytes() };
}

Deno.test("put then get prints the raw value, a newline only on a terminal", async () => {
  await withServer(async (url, s) => {
    assert.deepEqual(await kv(url, ["put", "greeting", "hello"]), {
      code: 0,
      out: "revision 1 version 1\n",
      err: "",
      bytes: new TextEncoder().encode("revision 1 version 1\n"),
    });
    const put = s.requests.at(-1)!;
    assert.match(put.headers.get("idempotency-key") ?? "", /^kv-cli-[0-9a-f-]{36}$/);
    assert.equal((await kv(url, ["put", "greeting", "hello again"])).out, "revision 2 version 2\n");
    assert.equal((await kv(url, ["get", "greeting"])).out, "hello again");
    assert.equal((await kv(url, ["get", "greeting"], { terminal: true })).out, "hello again\n");
  });
});

Deno.test("get --json: metadata, and valueBase64 for bytes that are not UTF-8", async () => {
  await withServer(async (url) => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/bin`;
      await Deno.writeFile(file, new Uint8Array([0xff, 0x00, 0x41]));
      assert.equal((await kv(url, ["put", "bin", "--file", file, "--ttl", "30"])).code, 0);
      const r = await kv(url, ["get", "bin", "--json"]);
      assert.equal(r.code, 0);
      assert.deepEqual(JSON.parse(r.out), {
        key: "bin",
        valueBase64: "/wBB",
        revision: 1,
        version: 1,
        expiresAt: "2030-01-01T00:00:30.000Z",
      });
      const raw = await kv(url, ["get", "bin"]);
      assert.deepEqual(raw.bytes, new Uint8Array([0xff, 0x00, 0x41]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("put reads stdin for -, sends ttl, and keys survive URL encoding", async () => {
  await withServer(async (url, s) => {
    const key = "dir/a b%é?#";
    const r = await kv(url, ["put", key, "-", "--ttl", "5"], {
      stdin: new TextEncoder().encode("from\nstdin"),
    });
    assert.equal(r.code, 0);
    assert.equal(s.requests.at(-1)!.url.searchParams.get("ttl"), "5");
    assert.equal((await kv(url, ["get", key])).out, "from\nstdin");
  });
});

Deno.test("a missing key exits 1 with the problem's detail on stderr", async () => {
  await withServer(async (url) => {
    assert.deepEqual(await kv(url, ["get", "nope"]), {
      code: 1,
      out: "",
      err: 'kv: key "nope" not found\n',
      bytes: new Uint8Array(),
    });
    const d = await kv(url, ["del", "nope"]);
    assert.equal(d.code, 1);
    assert.equal(d.err, 'kv: key "nope" not found\n');
  });
});

Deno.test("compare-and-swap: --if-revision and --create send preconditions; 412 exits 1", async () => {
  await withServer(async (url, s) => {
    await kv(url, ["put", "k", "v1"]);
    const stale = await kv(url, ["put", "k", "v2", "--if-revision", "7"]);
    assert.equal(s.requests.at(-1)!.headers.get("if-match"), '"7"');
    assert.equal(stale.code, 1);
    assert.equal(
      stale.err,
      "kv: If-Match: the key's current revision differs (or the key is absent) (current revision 1)\n",
    );
    assert.equal(
      (await kv(url, ["put", "k", "v2", "--if-revision", "1"])).out,
      "revision 2 version 2\n",
    );
    const create = await kv(url, ["put", "k", "v3", "--create"]);
    assert.equal(s.requests.at(-1)!.headers.get("if-none-match"), "*");
    assert.equal(create.code, 1);
    assert.match(create.err, /^kv: If-None-Match: the key already exists/);
    assert.equal((await kv(url, ["get", "k"])).out, "v2");
  });
});

Deno.test("del prints the revision and honours --if-revision", async () => {
  await withServer(async (url) => {
    await kv(url, ["put", "k", "v"]);
    assert.equal((await kv(url, ["del", "k", "--if-revision", "9"])).code, 1);
    assert.deepEqual(await kv(url, ["del", "k", "--if-revision", "1"]), {
      code: 0,
      out: "deleted at revision 2\n",
      err: "",
      bytes: new TextEncoder().encode("deleted at revision 2\n"),
    });
    assert.equal((await kv(url, ["get", "k"])).code, 1);
  });
});

Deno.test("get --serializable asks for a local read", async () => {
  await withServer(async (url, s) => {
    await kv(url, ["get", "k", "--serializable"]);
    assert.equal(s.requests.at(-1)!.url.searchParams.get("consistency"), "serializable");
    await kv(url, ["get", "k"]);
    assert.equal(s.requests.at(-1)!.url.search, "");
  });
});

Deno.test("an unreachable endpoint is skipped; none reachable exits 3", async () => {
  await withServer(async (url) => {
    const dead = closedPortUrl();
    const r = await kv(`${dead},${url}`, ["put", "k", "v"]);
    assert.equal(r.code, 0);
    assert.equal(r.out, "revision 1 version 1\n");
  });
  const dead = [closedPortUrl(), closedPortUrl()];
  const r = await kv(dead.join(","), ["get", "k"]);
  assert.equal(r.code, 3);
  assert.match(r.err, /^kv: cannot reach any endpoint \(.*Connection refused.*; .*\)\n$/);
  assert.equal(r.err.split("\n").length, 2, "one line");
});

Deno.test("RAFTKV_ENDPOINT is used without --endpoint", async () => {
  await withServer(async (url) => {
    const m = memoryIo({ env: { RAFTKV_ENDPOINT: url } });
    assert.equal(await main(["put", "k", "v"], m.io), 0);
    assert.equal(m.out(), "revision 1 version 1\n");
  });
});

Deno.test("an error that is not problem+json still gives one line and exit 1", async () => {
  const server = startFakeServer({
    override: () => new Response("<h1>oops</h1>", { status: 502 }),
  });
  try {
    const r = await kv(server.url, ["get", "k"]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `kv: ${server.url} answered HTTP 502\n`);
  } finally {
    await server.close();
  }
});

Deno.test("a malformed success body is reported, not trusted", async () => {
  const server = startFakeServer({ override: () => Response.json({ revision: "x" }) });
  try {
    const r = await kv(server.url, ["del", "k"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^kv: unexpected answer from .*: revision: /);
  } finally {
    await server.close();
  }
});

Deno.test("a server that does not answer in time: exit 1, no hang", async () => {
  const server = startFakeServer({
    // Headers go out, the body never comes; Deno cancels the stream when the client leaves.
    override: () => new Response(new ReadableStream()),
  });
  try {
    const m = memoryIo();
    const code = await main(["get", "k", "--endpoint", server.url], m.io, {
      requestTimeoutMs: 100,
    });
    assert.equal(code, 1);
    assert.equal(m.err(), "kv: no answer within 100 ms\n");
  } finally {
    await server.close();
  }
});

Deno.test("put --file with a missing file exits 1 and sends nothing", async () => {
  await withServer(async (url, s) => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await kv(url, ["put", "k", "--file", `${dir}/absent`]);
      assert.equal(r.code, 1);
      assert.match(r.err, /^kv: cannot read .*absent: No such file/);
      assert.equal(s.requests.length, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
