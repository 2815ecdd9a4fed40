import assert from "node:assert/strict";
import { encodeAddress, type MemberAddress, membersOf } from "./members.ts";

const addr = (port: number): MemberAddress => ({
  client: `http://127.0.0.1:${port}`,
  peer: `ws://127.0.0.1:${port + 1}`,
  text: null,
});

Deno.test("membersOf: the local cluster file wins over replicated addresses for ids it lists", () => {
  // The configuration as another node wrote it (e.g. the leader's view, carried by a snapshot):
  // its addresses for n1..n3, plus n4 which joined later.
  const config = {
    voters: ["n1", "n2", "n3"],
    learners: ["n4"],
    contexts: {
      n1: encodeAddress(addr(9001)),
      n2: encodeAddress(addr(9003)),
      n3: encodeAddress(addr(9005)),
      n4: encodeAddress(addr(9007)),
    },
  };
  // This node's own view: n2 and n3 through proxies on other ports.
  const local = new Map([["n1", addr(7001)], ["n2", addr(7003)], ["n3", addr(7005)]]);
  const members = membersOf(config, local);
  assert.deepEqual(members.map((m) => [m.id, m.peer, m.voter]), [
    ["n1", "ws://127.0.0.1:7002", true],
    ["n2", "ws://127.0.0.1:7004", true],
    ["n3", "ws://127.0.0.1:7006", true],
    // Unknown to the cluster file: the replicated address is all there is.
    ["n4", "ws://127.0.0.1:9008", false],
  ]);
});

Deno.test("membersOf: members with no address anywhere are left out; bad contexts are ignored", () => {
  const config = {
    voters: ["n1", "n2"],
    learners: [],
    contexts: { n2: "{not json" },
  };
  const members = membersOf(config, new Map([["n1", addr(7001)]]));
  assert.deepEqual(members.map((m) => m.id), ["n1"]);
});
