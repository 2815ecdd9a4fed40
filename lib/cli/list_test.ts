import assert from "node:assert/strict";
import { main } from "./mod.ts";
import { startFakeServer } from "./fake_server.ts";
import { memoryIo } from "./test_helpers.ts";

async function seeded(pageItemsMax: number) {
  const server = startFakeServer({ pageItemsMax });
  const puts: [string, string][] = [["app/a", "1"], ["app/b", "two\nlines"], ["app/c", "3"], [
    "other",
    "x",
  ]];
  for (const [k, v] of puts) {
    assert.equal(await main(["put", k, v, "--endpoint", server.url], memoryIo().io), 0);
  }
  server.requests.length = 0;
  return server;
}

async function kv(url: string, args: string[]) {
  const m = memoryIo();
  const code = await main([...args, "--endpoint", url], m.io);
  return { code, out: m.out(), err: m.err() };
}

Deno.test("list follows next across pages; values that break lines are quoted", async () => {
  const server = await seeded(2);
  try {
    const r = await kv(server.url, ["list", "app/"]);
    assert.deepEqual(r, { code: 0, out: 'app/a\t1\napp/b\t"two\\nlines"\napp/c\t3\n', err: "" });
    const pages = server.requests.map((q) => Object.fromEntries(q.url.searchParams));
    assert.deepEqual(pages, [
      { prefix: "app/", limit: "1000" },
      { prefix: "app/", limit: "1000", after: "app/b" },
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("list --limit stops early and asks for no more than it needs", async () => {
  const server = await seeded(2);
  try {
    assert.equal(
      (await kv(server.url, ["list", "--limit", "3"])).out,
      'app/a\t1\napp/b\t"two\\nlines"\napp/c\t3\n',
    );
    assert.deepEqual(server.requests.map((q) => q.url.searchParams.get("limit")), ["3", "1"]);
    server.requests.length = 0;
    assert.equal((await kv(server.url, ["list", "--limit", "1"])).out, "app/a\t1\n");
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("list --keys-only and --json", async () => {
  const server = await seeded(3);
  try {
    assert.equal(
      (await kv(server.url, ["list", "--keys-only"])).out,
      "app/a\napp/b\napp/c\nother\n",
    );
    assert.equal(server.requests[0].url.searchParams.get("keysOnly"), "true");
    const json = (await kv(server.url, ["list", "app/", "--json"])).out.trim().split("\n");
    assert.deepEqual(JSON.parse(json[1]), {
      key: "app/b",
      value: "two\nlines",
      revision: 2,
      version: 1,
      expiresAt: null,
    });
    assert.equal(json.length, 3);
  } finally {
    await server.close();
  }
});

Deno.test("list: a cursor that does not advance is an error, not a loop", async () => {
  const server = startFakeServer({
    override: () => Response.json({ items: [{ key: "a", value: "1" }], next: "a", revision: 1 }),
  });
  try {
    const r = await kv(server.url, ["list"]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "a\t1\na\t1\n");
    assert.equal(r.err, 'kv: listing did not advance past "a"\n');
  } finally {
    await server.close();
  }
});
