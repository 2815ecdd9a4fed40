// Summarizes V8 .cpuprofile files (from `deno run --cpu-prof`): self time aggregated by
// function + script, and by script, over the samples — a quick "where does the node's
// CPU go" without a browser. Not a test; a tool:
//
//   deno run -A bench/cpu_profile.ts [--top 30] FILE.cpuprofile...
//
// Percentages are of the busy samples: "(idle)" is left out and shown on its own line.

import { parseArgs } from "node:util";
import { z } from "zod";

const profileSchema = z.object({
  nodes: z.array(z.object({
    id: z.number(),
    callFrame: z.object({
      functionName: z.string(),
      url: z.string(),
      lineNumber: z.number(),
    }),
  })),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

export type CpuProfile = z.output<typeof profileSchema>;

export interface SelfTime {
  name: string;
  ms: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byFunction: SelfTime[];
  byScript: SelfTime[];
}

/** The part of a script URL worth reading: the path from the project or package on. */
export function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const npm = url.match(/\/npm\/registry\.npmjs\.org\/(.*)$/);
  if (npm) return `npm:${npm[1]}`;
  const project = url.match(/\/(lib|bench|test)\/(.*)$/);
  if (project) return `${project[1]}/${project[2]}`;
  return url.replace(/^file:\/\//, "");
}

/** Self time per function and per script; a sample's time is the delta that follows it. */
export function summarize(profile: CpuProfile): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byScript = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const frame = frames.get(profile.samples[i]);
    if (frame === undefined) continue;
    if (frame.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    totalMs += ms;
    const script = shortUrl(frame.url);
    const name = `${frame.functionName || "(anonymous)"} ${script}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byScript.set(script, (byScript.get(script) ?? 0) + ms);
  }
  return { totalMs, idleMs, byFunction: ranked(byFunction), byScript: ranked(byScript) };
}

function ranked(times: Map<string, number>): SelfTime[] {
  return [...times].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
}

function table(title: string, rows: SelfTime[], totalMs: number, top: number): string {
  const lines = rows.slice(0, top).map((row) =>
    `${row.ms.toFixed(0).padStart(8)} ms ${(100 * row.ms / totalMs).toFixed(1).padStart(5)}%  ` +
    row.name
  );
  return `${title}\n${lines.join("\n")}`;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "30" } },
  });
  const top = Number(values.top);
  for (const path of positionals) {
    const profile = profileSchema.parse(JSON.parse(await Deno.readTextFile(path)));
    const s = summarize(profile);
    console.log(`== ${path}: busy ${s.totalMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms`);
    console.log(table("-- self time by function", s.byFunction, s.totalMs, top));
    console.log(table("-- self time by script", s.byScript, s.totalMs, top));
  }
}
