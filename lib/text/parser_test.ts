// The parser alone: every command form, every framing rule of API.md §5, chunk-boundary
// independence, and a seeded fuzz of its memory bound.

import assert from "node:assert/strict";
import { type ParseEvent, type ParserLimits, TextParser } from "./parser.ts";
import { decoder, encoder, fuzzInput, seededRandom } from "./test_helpers.ts";

function parseAll(input: string | Uint8Array, limits: Partial<ParserLimits> = {}): ParseEvent[] {
  const parser = new TextParser(limits);
  parser.push(typeof input === "string" ? encoder.encode(input) : input);
  return drain(parser);
}

function drain(parser: TextParser): ParseEvent[] {
  const events: ParseEvent[] = [];
  for (let e = parser.next(); e !== null; e = parser.next()) events.push(e);
  return events;
}

/** Events with values as text and reasons dropped: easy to compare. */
function summary(events: ParseEvent[]): unknown[] {
  return events.map((e) => {
    if (e.type !== "command") return e.type;
    const c = e.command;
    return "value" in c ? { ...c, value: decoder.decode(c.value) } : c;
  });
}

Deno.test("parser: each command form", () => {
  const events = parseAll(
    "set k 0 5\r\nhello\r\nset k2 10 3 noreply\r\nabc\r\nget k\r\ngetm k\r\n" +
      "cas k 0 7 2\r\nhi\r\ncas k 5 8 0 noreply\r\n\r\ndelete k\r\n",
  );
  assert.deepEqual(summary(events), [
    { type: "set", key: "k", exptime: 0, value: "hello", noreply: false },
    { type: "set", key: "k2", exptime: 10, value: "abc", noreply: true },
    { type: "get", key: "k" },
    { type: "getm", key: "k" },
    { type: "cas", key: "k", exptime: 0, version: 7, value: "hi", noreply: false },
    { type: "cas", key: "k", exptime: 5, version: 8, value: "", noreply: true },
    { type: "delete", key: "k" },
  ]);
});

Deno.test("parser: numbytes decides where the value ends; value bytes are never commands", () => {
  const value = "a\r\ndelete k\r\nget k\r\n";
  const events = parseAll(`set k 0 ${value.length}\r\n${value}\r\nget k\r\n`);
  assert.deepEqual(summary(events), [
    { type: "set", key: "k", exptime: 0, value, noreply: false },
    { type: "get", key: "k" },
  ]);
});

Deno.test("parser: binary values (every byte value) pass through intact", () => {
  const value = Uint8Array.from({ length: 256 }, (_, i) => i);
  const input = new Uint8Array([
    ...encoder.encode("set bin 0 256\r\n"),
    ...value,
    ...encoder.encode("\r\n"),
  ]);
  const [event] = parseAll(input);
  assert.equal(event.type, "command");
  if (event.type === "command" && event.command.type === "set") {
    assert.deepEqual(event.command.value, value);
  }
});

Deno.test("parser: keys of 250 bytes pass, 251 bytes or spaces/control characters do not", () => {
  const k250 = "k".repeat(250);
  assert.deepEqual(summary(parseAll(`get ${k250}\r\n`)), [{ type: "get", key: k250 }]);
  assert.deepEqual(summary(parseAll(`get ${"k".repeat(251)}\r\nget ok\r\n`)), [
    "error",
    { type: "get", key: "ok" },
  ]);
  // 250 bytes counted as UTF-8, not characters: 125 two-byte characters fit, 126 do not.
  assert.equal(parseAll(`getm ${"é".repeat(125)}\r\n`)[0].type, "command");
  assert.equal(parseAll(`getm ${"é".repeat(126)}\r\n`)[0].type, "error");
  for (const bad of ["a\tb", "a\x00b", "a\x7fb", "a\u0085b", "a\nb", "a\rb"]) {
    assert.deepEqual(summary(parseAll(`get ${bad}\r\n`)), ["error"], JSON.stringify(bad));
  }
  // "get a b" is two keys, not a key with a space.
  assert.deepEqual(summary(parseAll("get a b\r\n")), ["error"]);
  // Invalid UTF-8.
  const invalid = new Uint8Array([...encoder.encode("get a"), 0xff, ...encoder.encode("\r\n")]);
  assert.deepEqual(summary(parseAll(invalid)), ["error"]);
});

Deno.test("parser: unknown words and bad key-only lines are errors; the stream goes on", () => {
  assert.deepEqual(
    summary(parseAll("foo bar\r\n\r\nSET k 0 1\r\nget\r\ndelete a b\r\nget k\r\n")),
    [
      "error", // foo
      "error", // empty line
      "error", // commands are lower case: SET carries no value...
      "error", // ...so "get" (without a key) is the next line
      "error",
      { type: "get", key: "k" },
    ],
  );
});

Deno.test("parser: a bad set/cas line whose numbytes parsed skips the value, answered once", () => {
  const lines = [
    "set k -1 3\r\nabc\r\n", // exptime
    "set k x 3\r\nabc\r\n",
    "set k 0 3 noreplyy\r\nabc\r\n", // not noreply
    "set k 0 3 noreply extra\r\nabc\r\n", // too many fields
    `set ${"k".repeat(251)} 0 3\r\nabc\r\n`, // key
    "cas k 0 v 3\r\nabc\r\n", // version
    `set k ${100 * 365 * 24 * 3600 + 1} 3\r\nabc\r\n`, // exptime over 100 years
  ];
  for (const line of lines) {
    assert.deepEqual(summary(parseAll(`${line}get after\r\n`)), [
      "error",
      { type: "get", key: "after" },
    ], JSON.stringify(line));
  }
});

Deno.test("parser: lost framing is fatal and nothing follows", () => {
  const cases = [
    "set k 0\r\nabc\r\nget k\r\n", // no numbytes
    "set k 0 x\r\nabc\r\nget k\r\n", // numbytes not a number
    "cas k 0 1\r\nabc\r\nget k\r\n", // cas without numbytes
    "set k 0 3\r\nabcd\r\nget k\r\n", // value longer than numbytes
    "set k x 3\r\nabcd\r\nget k\r\n", // ...also when the value is being skipped
    `${"x".repeat(1025)}\r\nget k\r\n`, // line over 1 KiB
    `set k 0 ${64 * 1024 * 1024 + 1}\r\n`, // absurd numbytes
  ];
  for (const input of cases) {
    const parser = new TextParser();
    parser.push(encoder.encode(input));
    assert.deepEqual(summary(drain(parser)), ["fatal"], JSON.stringify(input.slice(0, 40)));
    assert.ok(parser.closed);
    parser.push(encoder.encode("get k\r\n"));
    assert.equal(parser.next(), null, "nothing after a fatal event");
  }
  // A line of exactly 1024 bytes is fine (an unknown command here).
  assert.deepEqual(summary(parseAll(`${"x".repeat(1024)}\r\nget k\r\n`)), [
    "error",
    { type: "get", key: "k" },
  ]);
});

Deno.test("parser: a long line without CRLF is fatal as soon as it passes 1 KiB", () => {
  const parser = new TextParser();
  parser.push(encoder.encode("x".repeat(1025)));
  assert.equal(
    parser.next(),
    null,
    "1025 bytes without CRLF: still waiting (the cut is at 1 KiB + CR)",
  );
  parser.push(encoder.encode("y"));
  assert.equal(parser.next()?.type, "fatal");
});

Deno.test("parser: numbytes over maxValueBytes skips the value without buffering it", () => {
  const parser = new TextParser({ valueBytesMax: 10, skipBytesMax: 1000 });
  parser.push(encoder.encode("set k 0 900\r\n"));
  assert.equal(parser.next(), null);
  for (let i = 0; i < 9; i++) {
    parser.push(new Uint8Array(100).fill(0x41));
    assert.equal(parser.next(), null);
    assert.ok(parser.bufferedBytes <= 100, `skipped, not buffered (${parser.bufferedBytes})`);
  }
  parser.push(encoder.encode("\r\nget k\r\n"));
  assert.deepEqual(summary(drain(parser)), ["error", { type: "get", key: "k" }]);
  // Over skipBytesMax: fatal at once.
  assert.deepEqual(
    summary(parseAll("set k 0 1001\r\n", { valueBytesMax: 10, skipBytesMax: 1000 })),
    [
      "fatal",
    ],
  );
});

Deno.test("parser: any chunking gives the same events (seeded)", () => {
  const input = encoder.encode(
    "set a 0 5\r\nhe\r\nl\r\nget a\r\nbogus\r\ncas a 1 1 3 noreply\r\nxyz\r\n" +
      "set b 0 2 junk\r\n\r\n\r\ngetm a\r\ndelete a\r\nset c 0 2\r\nabXY",
  );
  const expected = summary(parseAll(input));
  assert.equal(expected.at(-1), "fatal");
  const random = seededRandom(7);
  for (let trial = 0; trial < 300; trial++) {
    const parser = new TextParser();
    const events: ParseEvent[] = [];
    let at = 0;
    while (at < input.byteLength) {
      const n = 1 + Math.floor(random() * 8);
      parser.push(input.subarray(at, at + n));
      at += n;
      events.push(...drain(parser));
    }
    assert.deepEqual(summary(events), expected, `trial ${trial}`);
  }
});

Deno.test("parser fuzz: random and near-valid bytes never throw; memory stays bounded", () => {
  const limits = { valueBytesMax: 4096, skipBytesMax: 65_536 };
  const bound = limits.valueBytesMax + 2 + 2048; // one value + its CRLF + the largest chunk
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = seededRandom(seed);
    for (let input = 0; input < 600; input++) {
      const parser = new TextParser(limits);
      const bytes = fuzzInput(random);
      for (let at = 0; at < bytes.byteLength && !parser.closed;) {
        const n = 1 + Math.floor(random() * 2048);
        parser.push(bytes.subarray(at, at + n));
        at += n;
        for (let e = parser.next(); e !== null; e = parser.next()) {
          assert.ok(["command", "error", "fatal"].includes(e.type));
        }
        assert.ok(parser.bufferedBytes <= bound, `seed ${seed} input ${input}`);
        assert.ok(parser.capacityBytes <= 2 * bound, `seed ${seed} input ${input} capacity`);
      }
    }
  }
});
