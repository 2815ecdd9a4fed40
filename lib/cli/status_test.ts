import assert from "node:assert/strict";
import { main } from "./mod.ts";
import { startFakeServer } from "./fake_server.ts";
import { memoryIo } from "./test_helpers.ts";

Deno.test("status prints the node's view and a table of members", async () => {
  const server = startFakeServer();
  try {
    const m = memoryIo();
    assert.equal(await main(["status", "--endpoint", server.url], m.io), 0);
    assert.equal(
      m.out(),
      [
        "node n2 is follower, term 7, leader n1 (http://127.0.0.1:7001)",
        "commit 42, applied 41, last log 43, snapshot 0, revision 40",
        "",
        "ID   ROLE      VOTER  MATCH  CONNECTED  LAST CONTACT",
        "n1   leader    yes    -      yes        12 ms",
        "n2*  follower  yes    43     yes        0 ms",
        "n3   learner   no     -      no         -",
        "* the node that answered; MATCH and CONNECTED are its view",
        "",
      ].join("\n"),
    );
    const j = memoryIo();
    assert.equal(await main(["status", "--json", "--endpoint", server.url], j.io), 0);
    assert.equal(JSON.parse(j.out()).commitIndex, 42);
  } finally {
    await server.close();
  }
});
