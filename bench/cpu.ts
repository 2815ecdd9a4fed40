// CPU time of the load generator (node:process's cpuUsage, which Deno implements) and of
// the node processes it started (/proc/<pid>/stat on Linux), so a result can say how much
// of the 2-core box the generator itself took. Everything here degrades to null off Linux.

import process from "node:process";

/** Linux's USER_HZ: /proc times are in these ticks. 100 on every mainstream build. */
const TICKS_PER_SECOND = 100;

/** This process's user + system CPU time in ms. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * utime + stime (in clock ticks) from the text of /proc/<pid>/stat, or null if it does not
 * parse. The command name (field 2) may hold spaces and parentheses, so fields are counted
 * from the last ")".
 */
export function parseProcStatTicks(text: string): number | null {
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  // After ") ": field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const fields = text.slice(close + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime) || fields[12] === "") return null;
  return utime + stime;
}

/** Another process's CPU time in ms, or null when /proc cannot tell (gone, not Linux). */
export function processCpuMs(pid: number): number | null {
  try {
    const ticks = parseProcStatTicks(Deno.readTextFileSync(`/proc/${pid}/stat`));
    return ticks === null ? null : (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU use over an interval as a percentage of one core, rounded to a whole number. */
export function percentOfCore(cpuMs: number, wallMs: number): number {
  return wallMs > 0 ? Math.round((100 * cpuMs) / wallMs) : 0;
}

/** The 1-minute load average, or null where Deno cannot read it. */
export function loadAverage(): number | null {
  try {
    return Deno.loadavg()[0];
  } catch {
    return null;
  }
}
