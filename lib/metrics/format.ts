// The pieces of the Prometheus text exposition format 0.0.4: escaping and number syntax.
// https://prometheus.io/docs/instrumenting/exposition_formats/

/** `# HELP` and `# TYPE` lines. HELP escapes backslash and newline. */
export function helpLine(name: string, help: string, type: string): string[] {
  const escaped = help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
  return [`# HELP ${name} ${escaped}`, `# TYPE ${name} ${type}`];
}

/** `{a="x",b="y"}`, or "" without labels. Values escape backslash, quote and newline. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** Go's ParseFloat syntax: NaN, +Inf, -Inf, or a JavaScript number (1e-7 is fine). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
