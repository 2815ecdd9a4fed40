// The core must stay pure (DESIGN.md): no I/O, clocks, ambient randomness, timers, promises,
// or imports from outside lib/raft/. This scans the source so a regression fails CI.

import assert from "node:assert/strict";

const BANNED: { name: string; pattern: RegExp }[] = [
  { name: "Deno.", pattern: /\bDeno\s*\./ },
  { name: "Date", pattern: /\bDate\b/ },
  { name: "Math.random", pattern: /\bMath\s*\.\s*random\b/ },
  { name: "setTimeout", pattern: /\bsetTimeout\b/ },
  { name: "setInterval", pattern: /\bsetInterval\b/ },
  { name: "Promise", pattern: /\bPromise\b/ },
  { name: "async", pattern: /\basync\b/ },
  { name: "await", pattern: /\bawait\b/ },
];

/** Removes // and /* *\/ comments, leaving string literals intact. */
export function stripComments(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const next = source[i + 1];
    if (ch === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (ch === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end === -1 ? source.length : end + 2;
      out += " ";
    } else if (ch === '"' || ch === "'" || ch === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== ch) j += source[j] === "\\" ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

const IMPORT_FROM = /\b(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/g;
const BARE_IMPORT = /\bimport\s*(?:\(\s*)?["']([^"']+)["']/g;

/** Every purity violation in one file's source. */
export function violations(source: string): string[] {
  const code = stripComments(source);
  const found = BANNED.filter((b) => b.pattern.test(code)).map((b) => b.name);
  for (const re of [IMPORT_FROM, BARE_IMPORT]) {
    for (const m of code.matchAll(re)) {
      if (!m[1].startsWith("./")) found.push(`import "${m[1]}"`);
    }
  }
  return found;
}

function isTestFile(name: string): boolean {
  return name.endsWith("_test.ts") || name === "test_util.ts";
}

Deno.test("purity: the scanner catches planted violations", () => {
  assert.deepEqual(violations("const t = Date.now();"), ["Date"]);
  assert.deepEqual(violations("Deno.readFile('x')"), ["Deno."]);
  assert.deepEqual(violations("const r = Math.random();"), ["Math.random"]);
  assert.deepEqual(violations("setTimeout(f, 1); setInterval(f, 2);"), [
    "setTimeout",
    "setInterval",
  ]);
  assert.deepEqual(violations("async function f(): Promise<void> { await g(); }"), [
    "Promise",
    "async",
    "await",
  ]);
  assert.deepEqual(violations('import { z } from "zod";'), ['import "zod"']);
  assert.deepEqual(violations('import type { X } from "../storage/mod.ts";'), [
    'import "../storage/mod.ts"',
  ]);
  assert.deepEqual(violations('export { y } from "npm:hono";'), ['import "npm:hono"']);
  assert.deepEqual(violations('import "node:fs";'), ['import "node:fs"']);
  assert.deepEqual(violations('const m = import("node:fs");'), ['import "node:fs"']);
  assert.deepEqual(
    violations('import {\n  a,\n  b,\n} from "node:path";'),
    ['import "node:path"'],
    "multi-line import",
  );
});

Deno.test("purity: comments do not trigger the scanner, code and local imports pass", () => {
  assert.deepEqual(violations("// uses Date and Math.random and await in prose\nconst x = 1;"), []);
  assert.deepEqual(violations("/* Promise, setTimeout,\n Deno.exit */ const y = 2;"), []);
  assert.deepEqual(violations('import { a } from "./a.ts";\nexport * from "./b.ts";'), []);
  assert.deepEqual(violations("const updated = 1; const awaiting = 2;"), [], "whole words only");
  assert.deepEqual(violations('const s = "http://x"; const t = Date;'), ["Date"], "// in a string");
});

Deno.test("purity: lib/raft/ core files use no I/O, clocks, randomness, timers or promises", async () => {
  const dir = new URL(".", import.meta.url);
  const problems: string[] = [];
  let scanned = 0;
  for await (const f of Deno.readDir(dir)) {
    if (!f.isFile || !f.name.endsWith(".ts") || isTestFile(f.name)) continue;
    scanned++;
    const source = await Deno.readTextFile(new URL(f.name, dir));
    for (const v of violations(source)) problems.push(`${f.name}: ${v}`);
  }
  assert.ok(scanned >= 8, `scanned only ${scanned} files`);
  assert.deepEqual(problems, []);
});
