import type { Metric, Registry } from "prom-client";

/** Options of {@link createCounterFamily} and {@link createHistogramFamily}. */
export interface SeriesFamilyOptions {
  /** The metric name. Required. */
  name: string;
  /** The HELP text. Required. */
  help: string;
  /** The label names, at most four, in the order values are given. Required. */
  labelNames: readonly string[];
  /** The registry that scrapes the family. Required. */
  registry: Registry;
}

/** Options of {@link createHistogramFamily}. */
export interface HistogramFamilyOptions extends SeriesFamilyOptions {
  /** Upper bounds of the buckets, ascending (`+Inf` is implied). Required. */
  buckets: readonly number[];
}

/** One labelled counter series: a number, added to in place. */
export class CounterSeries {
  /** The running total. */
  value = 0;
  /** Adds `n` (default 1); callers pass non-negative numbers. */
  inc(n = 1): void {
    this.value += n;
  }
}

/** One labelled histogram series: per-bucket counts, sum and count. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); above the last bound they are only in `count`. */
  readonly counts: Float64Array;
  /** The sum of observed values. */
  sum = 0;
  /** The number of observed values. */
  count = 0;
  constructor(private readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length);
  }
  /** Records one value; non-finite values are dropped, as they would poison the sum. */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        break;
      }
    }
    this.sum += value;
    this.count += 1;
  }
}

/** A metric whose series are found by label values (at most four), each once and then from a cache. */
export interface SeriesFamily<S> {
  /**
   * The series of these label values, created on first use. Pass exactly
   * as many values as the family has labels.
   */
  series(a?: string, b?: string, c?: string, d?: string): S;
  /** Calls `fn` with every series created so far and its label values, in creation order. */
  each(fn: (values: readonly string[], series: S) => void): void;
}

type Labels = Record<string, string>;

interface Node<S> {
  readonly next: Map<string, Node<S>>;
  leaf: S | undefined;
}

/** The sample shape prom-client's registry formats (name, labels, value). */
interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * The shared part: label lookup through one Map per label (no key string
 * built per call) and registration with prom-client, which reads the series
 * only when scraped.
 */
function createFamily<S>(
  options: SeriesFamilyOptions,
  type: "counter" | "histogram",
  make: () => S,
  samples: (series: S, labels: Labels, out: Sample[]) => void,
  zero: (series: S) => void,
): SeriesFamily<S> {
  const { name, help, labelNames } = options;
  if (labelNames.length > 4) throw new Error(`${name}: at most four labels`);
  const root: Node<S> = { next: new Map(), leaf: undefined };
  // Creation order, which is the order prom-client would list them in.
  const all: { series: S; labels: Labels; values: readonly string[] }[] = [];

  function step(node: Node<S>, value: string | undefined): Node<S> {
    const key = value ?? "";
    let child = node.next.get(key);
    if (child === undefined) {
      child = { next: new Map(), leaf: undefined };
      node.next.set(key, child);
    }
    return child;
  }

  function create(values: (string | undefined)[]): S {
    const given = values.filter((v) => v !== undefined);
    if (given.length !== labelNames.length) throw new Error(`${name}: expected ${labelNames.length} label values, got ${given.length}`);
    const labels: Labels = {};
    labelNames.forEach((label, i) => (labels[label] = given[i] as string));
    const series = make();
    all.push({ series, labels, values: given });
    return series;
  }

  const metric = {
    name,
    help,
    type,
    aggregator: "sum",
    get() {
      const values: Sample[] = [];
      for (const s of all) samples(s.series, s.labels, values);
      // metric.name, not name: an OpenMetrics registry renames counters in place.
      return Promise.resolve({ name: metric.name, help, type, values, aggregator: "sum" });
    },
    // Registry.resetMetrics: callers keep their series, so they are zeroed, not dropped.
    reset() {
      for (const s of all) zero(s.series);
    },
  };
  // prom-client's registry takes any object with its metrics' get/reset
  // shape; its typings only name the built-in classes.
  options.registry.registerMetric(metric as unknown as Metric);

  return {
    series(a, b, c, d) {
      let node = step(root, a);
      if (labelNames.length > 1) node = step(node, b);
      if (labelNames.length > 2) node = step(node, c);
      if (labelNames.length > 3) node = step(node, d);
      return (node.leaf ??= create([a, b, c, d]));
    },
    each(fn) {
      for (const s of all) fn(s.values, s.series);
    },
  };
}

/** A labelled counter whose increments are plain additions, handed to prom-client at scrape time. */
export function createCounterFamily(options: SeriesFamilyOptions): SeriesFamily<CounterSeries> {
  return createFamily(
    options,
    "counter",
    () => new CounterSeries(),
    (series, labels, out) => void out.push({ labels, value: series.value }),
    (series) => void (series.value = 0),
  );
}

/**
 * A labelled histogram whose observations are a bucket scan and three
 * additions, handed to prom-client at scrape time as the same samples as its
 * Histogram (`_bucket` with `le`, cumulative, then `+Inf`, `_sum`, `_count`).
 */
export function createHistogramFamily(options: HistogramFamilyOptions): SeriesFamily<HistogramSeries> {
  const bounds = Float64Array.from(options.buckets);
  const bucket = `${options.name}_bucket`;
  const sum = `${options.name}_sum`;
  const count = `${options.name}_count`;
  return createFamily(
    options,
    "histogram",
    () => new HistogramSeries(bounds),
    (series, labels, out) => {
      let acc = 0;
      for (let i = 0; i < bounds.length; i++) {
        acc += series.counts[i] as number;
        out.push({ metricName: bucket, labels: { le: bounds[i] as number, ...labels }, value: acc });
      }
      out.push({ metricName: bucket, labels: { le: "+Inf", ...labels }, value: series.count });
      out.push({ metricName: sum, labels, value: series.sum });
      out.push({ metricName: count, labels, value: series.count });
    },
    (series) => {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    },
  );
}
