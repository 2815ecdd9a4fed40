import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { type Command, COMMAND_VERSION, decodeCommand, encodeCommand } from "./commands.ts";
import { enc } from "./test_helpers.ts";

const base = { time: 1_700_000_000_000, reqId: "n1-1" };

const samples: Command[] = [
  { ...base, type: "put", key: "a", value: enc("1") },
  {
    ...base,
    type: "put",
    key: "ключ/🔑",
    value: new Uint8Array([0, 255, 13, 10]),
    ttlMs: 5000,
    ifRevision: 7,
    ifAbsent: false,
    ifVersion: 2,
    idempotencyKey: "idem-1",
  },
  { ...base, type: "delete", key: "a" },
  { ...base, type: "delete", key: "a", ifRevision: 3 },
  {
    ...base,
    type: "txn",
    compare: [
      { key: "a", target: "value", op: "==", value: enc("x") },
      { key: "a", target: "version", op: ">", value: 0 },
      { key: "b", target: "revision", op: "<", value: 10 },
      { key: "c", target: "exists", op: "!=", value: true },
    ],
    success: [{ type: "put", key: "a", value: enc("y"), ttlMs: 10 }, { type: "get", key: "b" }],
    failure: [{ type: "delete", key: "c" }],
  },
  { ...base, type: "sweep" },
];

Deno.test("commands: every kind round-trips through encode/decode", () => {
  for (const command of samples) {
    const decoded = decodeCommand(encodeCommand(command));
    assert.equal(decoded.type, "ok", JSON.stringify(decoded));
    if (decoded.type === "ok") assert.deepEqual(decoded.command, command);
  }
});

Deno.test("commands: encoding is deterministic and omits undefined optionals", () => {
  const a = encodeCommand({ ...base, type: "delete", key: "k", ifRevision: undefined });
  const b = encodeCommand({ ...base, type: "delete", key: "k" });
  assert.deepEqual(a, b);
});

Deno.test("commands: bytes that are not MessagePack give an error without a reqId", () => {
  const decoded = decodeCommand(new Uint8Array([0xc1, 0xff, 0x00]));
  assert.equal(decoded.type, "error");
  if (decoded.type === "error") assert.equal(decoded.reqId, null);
  assert.equal(decodeCommand(new Uint8Array()).type, "error");
});

Deno.test("commands: schema violations are errors, naming the field, salvaging the reqId", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ v: COMMAND_VERSION, ...base, type: "put", key: "a" }, "value"],
    [{ v: COMMAND_VERSION, ...base, type: "put", key: "a", value: enc("x"), extra: 1 }, ""],
    [{ v: 2, ...base, type: "sweep" }, "v"],
    [{ v: COMMAND_VERSION, ...base, type: "frobnicate" }, "type"],
    [{ v: COMMAND_VERSION, ...base, time: -1, type: "sweep" }, "time"],
    [{ v: COMMAND_VERSION, ...base, time: 1.5, type: "sweep" }, "time"],
    [{ v: COMMAND_VERSION, ...base, type: "put", key: "a", value: enc("x"), ttlMs: 0 }, "ttlMs"],
    [{ v: COMMAND_VERSION, ...base, type: "put", key: "a", value: "text" }, "value"],
    [{ v: COMMAND_VERSION, ...base, type: "delete", key: "a", ifRevision: 0 }, "ifRevision"],
    [{
      v: COMMAND_VERSION,
      ...base,
      type: "txn",
      compare: [{ key: "a", target: "exists", op: "<", value: true }],
      success: [],
      failure: [],
    }, "compare.0.op"],
    [{
      v: COMMAND_VERSION,
      ...base,
      type: "txn",
      compare: [{ key: "a", target: "version", op: "==", value: "1" }],
      success: [],
      failure: [],
    }, "compare.0.value"],
  ];
  for (const [raw, field] of cases) {
    const decoded = decodeCommand(encode(raw));
    assert.equal(decoded.type, "error", JSON.stringify(raw));
    if (decoded.type !== "error") continue;
    assert.ok(decoded.reason.startsWith(field), `${decoded.reason} should name ${field}`);
    assert.equal(decoded.reqId, base.reqId);
  }
});

Deno.test("commands: a missing or oversized reqId is not salvaged", () => {
  const noReqId = decodeCommand(encode({ v: COMMAND_VERSION, time: 1, type: "sweep" }));
  assert.deepEqual(noReqId.type === "error" && noReqId.reqId, null);
  const long = "x".repeat(200);
  const tooLong = decodeCommand(
    encode({ v: COMMAND_VERSION, time: 1, reqId: long, type: "sweep" }),
  );
  assert.deepEqual(tooLong.type === "error" && tooLong.reqId, null);
  const notMap = decodeCommand(encode(["reqId", "r1"]));
  assert.deepEqual(notMap.type === "error" && notMap.reqId, null);
});
