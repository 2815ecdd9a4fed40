// A tiny Prometheus registry: counters, gauges and fixed-bucket histograms with labels, and
// callback metrics read at scrape time, rendered in the text exposition format 0.0.4.
// Each metric holds at most `seriesMax` label sets: a label fed from outside (a route, a peer)
// can never grow memory without bound; extra series are dropped and counted.

import { formatLabels, formatValue, helpLine } from "./format.ts";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label values by label name. */
export type Labels<L extends string> = { readonly [K in L]: string };

export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing; +Inf is implied. */
  buckets: readonly number[];
}

/** One sample of a callback metric. */
export interface Sample<L extends string> {
  labels: Labels<L>;
  value: number;
}

export interface CallbackOptions<L extends string> extends MetricOptions<L> {
  type: "counter" | "gauge";
  /** Called at every scrape; what it returns is the metric's whole state. */
  collect: () => Sample<L>[];
}

const SERIES_MAX = 1000;
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Metric {
  readonly name: string;
  render(out: string[]): void;
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  /** Label sets refused because a metric was full, over all metrics. */
  seriesDropped = 0;

  constructor(readonly seriesMax = SERIES_MAX) {}

  counter<L extends string = never>(o: MetricOptions<L>): Counter<L> {
    return this.add(new Counter(o, this));
  }

  gauge<L extends string = never>(o: MetricOptions<L>): Gauge<L> {
    return this.add(new Gauge(o, this));
  }

  histogram<L extends string = never>(o: HistogramOptions<L>): Histogram<L> {
    return this.add(new Histogram(o, this));
  }

  /** A counter or gauge whose samples come from `collect` at scrape time. */
  callback<L extends string = never>(o: CallbackOptions<L>): void {
    this.add(new CallbackMetric(o));
  }

  /** The text exposition format 0.0.4, metrics in registration order. */
  expose(): string {
    const out: string[] = [];
    for (const metric of this.metrics.values()) metric.render(out);
    return out.join("\n") + "\n";
  }

  private add<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

function checkNames(name: string, labelNames: readonly string[], reserved: string[] = []): void {
  if (!NAME.test(name)) throw new Error(`bad metric name ${JSON.stringify(name)}`);
  for (const l of labelNames) {
    if (!LABEL.test(l) || l.startsWith("__") || reserved.includes(l)) {
      throw new Error(`${name}: bad label name ${JSON.stringify(l)}`);
    }
  }
  if (new Set(labelNames).size !== labelNames.length) throw new Error(`${name}: duplicate label`);
}

/** Label sets of one metric, keyed by their values in label-name order. */
abstract class Family<L extends string, S> implements Metric {
  readonly name: string;
  readonly labelNames: readonly L[];
  private readonly series = new Map<string, { labels: Labels<L>; state: S }>();

  protected constructor(
    o: MetricOptions<L>,
    private readonly type: MetricType,
    private readonly help: string,
    private readonly registry: Registry,
    reserved: string[] = [],
  ) {
    this.name = o.name;
    this.labelNames = o.labelNames ?? [];
    checkNames(o.name, this.labelNames, reserved);
  }

  protected abstract fresh(): S;
  protected abstract renderSeries(out: string[], labels: Labels<L>, state: S): void;

  /** The state for `labels`, created on first use; null when the metric is full. */
  protected stateFor(labels: Labels<L> | undefined): S | null {
    const key = this.key(labels);
    const found = this.series.get(key);
    if (found) return found.state;
    if (this.series.size >= this.registry.seriesMax) {
      this.registry.seriesDropped++;
      return null;
    }
    const values = this.values(labels);
    const copy = Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]])) as Labels<L>;
    const state = this.fresh();
    this.series.set(key, { labels: copy, state });
    return state;
  }

  /** The state for `labels` if that label set exists (never creates one). */
  protected find(labels: Labels<L> | undefined): S | undefined {
    return this.series.get(this.key(labels))?.state;
  }

  /** The label values joined, as the series map keys them (hot: no intermediate array). */
  private key(labels: Labels<L> | undefined): string {
    const names = this.labelNames;
    let key = "";
    for (let i = 0; i < names.length; i++) {
      const v = labels?.[names[i]];
      if (typeof v !== "string") throw new Error(`${this.name}: label ${names[i]} missing`);
      key = i === 0 ? v : key + "\u0000" + v;
    }
    return key;
  }

  private values(labels: Labels<L> | undefined): string[] {
    return this.labelNames.map((n) => {
      const v = labels?.[n];
      if (typeof v !== "string") throw new Error(`${this.name}: label ${n} missing`);
      return v;
    });
  }

  /** Forgets every label set (e.g. before re-reading a changing set of peers). */
  reset(): void {
    this.series.clear();
  }

  render(out: string[]): void {
    out.push(...helpLine(this.name, this.help, this.type));
    // An unlabelled metric shows its zero before anything happened.
    if (this.labelNames.length === 0) this.stateFor({} as Labels<L>);
    for (const { labels, state } of this.series.values()) this.renderSeries(out, labels, state);
  }
}

interface Cell {
  value: number;
}

export class Counter<L extends string = never> extends Family<L, Cell> {
  constructor(o: MetricOptions<L>, registry: Registry) {
    super(o, "counter", o.help, registry);
  }

  protected fresh(): Cell {
    return { value: 0 };
  }

  /** Adds `by` (≥ 0: a counter only goes up). */
  inc(labels?: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`${this.name}: counter increment ${by} is not >= 0`);
    const cell = this.stateFor(labels);
    if (cell) cell.value += by;
  }

  get(labels?: Labels<L>): number {
    return this.find(labels)?.value ?? 0;
  }

  protected renderSeries(out: string[], labels: Labels<L>, cell: Cell): void {
    out.push(`${this.name}${formatLabels(labels)} ${formatValue(cell.value)}`);
  }
}

export class Gauge<L extends string = never> extends Family<L, Cell> {
  constructor(o: MetricOptions<L>, registry: Registry) {
    super(o, "gauge", o.help, registry);
  }

  protected fresh(): Cell {
    return { value: 0 };
  }

  set(labels: Labels<L> | undefined, value: number): void {
    const cell = this.stateFor(labels);
    if (cell) cell.value = value;
  }

  inc(labels?: Labels<L>, by = 1): void {
    const cell = this.stateFor(labels);
    if (cell) cell.value += by;
  }

  get(labels?: Labels<L>): number {
    return this.find(labels)?.value ?? 0;
  }

  protected renderSeries(out: string[], labels: Labels<L>, cell: Cell): void {
    out.push(`${this.name}${formatLabels(labels)} ${formatValue(cell.value)}`);
  }
}

interface HistogramState {
  /** Non-cumulative counts per bucket; the last one is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Family<L, HistogramState> {
  readonly buckets: readonly number[];

  constructor(o: HistogramOptions<L>, registry: Registry) {
    super(o, "histogram", o.help, registry, ["le"]);
    const b = o.buckets;
    if (b.length === 0 || b.length > 64) throw new Error(`${o.name}: 1 to 64 buckets`);
    for (let i = 0; i < b.length; i++) {
      if (!Number.isFinite(b[i]) || (i > 0 && b[i] <= b[i - 1])) {
        throw new Error(`${o.name}: buckets must be finite and strictly increasing`);
      }
    }
    this.buckets = [...b];
  }

  protected fresh(): HistogramState {
    return { counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  observe(labels: Labels<L> | undefined, value: number): void {
    if (Number.isNaN(value)) return;
    const h = this.stateFor(labels);
    if (!h) return;
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    h.counts[i]++;
    h.sum += value;
    h.count++;
  }

  /** Count and sum for `labels` (tests and the dashboard). */
  snapshot(labels?: Labels<L>): { count: number; sum: number; counts: number[] } {
    const h = this.find(labels);
    return h
      ? { count: h.count, sum: h.sum, counts: [...h.counts] }
      : { count: 0, sum: 0, counts: [] };
  }

  protected renderSeries(out: string[], labels: Labels<L>, h: HistogramState): void {
    let cumulative = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cumulative += h.counts[i];
      const le = i < this.buckets.length ? formatValue(this.buckets[i]) : "+Inf";
      out.push(`${this.name}_bucket${formatLabels({ ...labels, le })} ${cumulative}`);
    }
    out.push(`${this.name}_sum${formatLabels(labels)} ${formatValue(h.sum)}`);
    out.push(`${this.name}_count${formatLabels(labels)} ${h.count}`);
  }
}

class CallbackMetric<L extends string> implements Metric {
  readonly name: string;

  constructor(private readonly o: CallbackOptions<L>) {
    this.name = o.name;
    checkNames(o.name, o.labelNames ?? []);
  }

  render(out: string[]): void {
    out.push(...helpLine(this.name, this.o.help, this.o.type));
    const names = this.o.labelNames ?? [];
    for (const s of this.o.collect().slice(0, SERIES_MAX)) {
      for (const n of names) {
        if (typeof s.labels[n] !== "string") throw new Error(`${this.name}: label ${n} missing`);
      }
      out.push(`${this.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }
}
