// Reading nodes.json: every way it can be wrong ends as ONE line naming the file, the
// field and the problem (API.md §1: "a message that names the field", never a stack trace).

import type { z } from "zod";
import {
  checkClusterRules,
  type ClusterConfig,
  clusterConfigSchema,
  NODE_KEYS,
  TOP_LEVEL_KEYS,
} from "./schema.ts";

export type LoadResult =
  | { type: "ok"; config: ClusterConfig }
  | { type: "error"; message: string };

/** A cluster file is a few hundred bytes; anything near this is not one. */
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;

/** Reads, parses and validates a cluster file. Never throws for a bad or missing file. */
export async function loadClusterConfig(path: string): Promise<LoadResult> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return fail(path, "not a regular file");
    if (info.size > CONFIG_FILE_BYTES_MAX) {
      return fail(path, `file too large (${info.size} bytes, at most ${CONFIG_FILE_BYTES_MAX})`);
    }
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return fail(path, "file not found");
    return fail(path, `cannot read: ${oneLine(err)}`);
  }
  return parseClusterConfigText(text, path);
}

/** Parses a cluster file's text; `fileName` only labels messages. */
export function parseClusterConfigText(text: string, fileName: string): LoadResult {
  let raw: unknown;
  try {
    // A byte-order mark is invisible in editors and fatal to JSON.parse.
    raw = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    return fail(fileName, `invalid JSON: ${oneLine(err)}`);
  }
  return parseClusterConfig(raw, fileName);
}

/** Validates an already-decoded cluster file and fills in defaults. */
export function parseClusterConfig(raw: unknown, fileName: string): LoadResult {
  const result = clusterConfigSchema.safeParse(raw);
  if (!result.success) return fail(fileName, describeIssues(result.error.issues, raw));
  const problem = checkClusterRules(result.data);
  if (problem !== null) return fail(fileName, `${formatPath(problem.path)}: ${problem.message}`);
  return { type: "ok", config: result.data };
}

function fail(fileName: string, detail: string): LoadResult {
  return { type: "error", message: `${fileName}: ${detail}` };
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return truncate(text.replace(/\s+/g, " ").trim(), 200);
}

function truncate(text: string, charsMax: number): string {
  return text.length <= charsMax ? text : `${text.slice(0, charsMax - 1)}…`;
}

/**
 * The first problem, as "path: what". Unknown keys go first: a misspelt key also shows up
 * as a missing required one, and "did you mean" is the more useful of the two messages.
 */
function describeIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): string {
  const rank = (issue: z.core.$ZodIssue) => issue.code === "unrecognized_keys" ? 0 : 1;
  const sorted = [...issues].sort((a, b) => rank(a) - rank(b));
  const first = sorted[0];
  const others = new Set(sorted.slice(1).map((issue) => formatPath(issue.path)));
  others.delete(formatPath(first.path));
  const more = others.size === 0 ? "" : ` (and ${others.size} more problem${plural(others.size)})`;
  return describeIssue(first, raw) + more;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === "unrecognized_keys") {
    const known = issue.path.length === 0 ? TOP_LEVEL_KEYS : NODE_KEYS;
    const [key, ...rest] = issue.keys;
    const also = rest.length === 0 ? "" : `; also unknown: ${rest.map(quoteKey).join(", ")}`;
    return `${formatPath([...issue.path, key])}: unknown field${suggest(key, known)}${also}`;
  }
  const where = issue.path.length === 0 ? "" : `${formatPath(issue.path)}: `;
  const value = valueAt(raw, issue.path);
  if (value === undefined) return `${where}missing; ${issue.message}`;
  return `${where}${issue.message}, got ${describeValue(value)}`;
}

function suggest(key: string, known: readonly string[]): string {
  // Short names get less slack, or "x" would be "did you mean id?".
  const close = known.find((candidate) =>
    editDistance(key.toLowerCase(), candidate.toLowerCase()) <= (candidate.length <= 4 ? 1 : 2)
  );
  if (close !== undefined) return ` (did you mean "${close}"?)`;
  return ` (known fields: ${known.join(", ")})`;
}

/** Levenshtein distance; keys are short, so the O(n·m) table is fine. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/** ["nodes", 1, "peer"] → "nodes[1].peer". */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (text === "") text = quoteKey(String(segment));
    else text += `.${quoteKey(String(segment))}`;
  }
  return text === "" ? "(top level)" : text;
}

function quoteKey(key: string): string {
  return /^[A-Za-z_$][\w$-]{0,63}$/.test(key) ? key : truncate(JSON.stringify(key), 40);
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const segment of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return truncate(JSON.stringify(value), 60);
  if (Array.isArray(value)) {
    return value.length === 0 ? "an empty array" : `an array of ${value.length}`;
  }
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

function plural(count: number): string {
  return count === 1 ? "" : "s";
}
