import type { HistogramTotals, MetricsSnapshot } from "../core/metrics.js";

/** One method's or store op's figures over one interval. */
export interface RateFigures {
  readonly perSecond: number;
  readonly errorsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** The server's figures over one interval, as GetStats answers them. */
export interface IntervalStats {
  /** The end of the interval, ms since the epoch. */
  readonly time: number;
  readonly intervalMs: number;
  /** `service/method` → figures. */
  readonly methods: ReadonlyMap<string, RateFigures>;
  readonly hitRatio: number;
  readonly readsPerSecond: number;
  /** Store op → figures. */
  readonly store: ReadonlyMap<string, RateFigures>;
}

/** Options of {@link StatsSampler}. */
export interface StatsSamplerOptions {
  /** Reads the metrics' running totals. Required. */
  snapshot: () => MetricsSnapshot;
  /** The latency histograms' bucket bounds, in seconds. Required. */
  buckets: readonly number[];
  /** How often totals are copied, in ms. Default 5000. */
  intervalMs?: number;
  /** How far back samples go, in ms. Default 15 minutes. */
  windowMs?: number;
  /** The clock. Default Date.now. */
  now?: () => number;
}

interface Taken {
  readonly time: number;
  readonly totals: MetricsSnapshot;
}

/**
 * Keeps the last 15 minutes of the server's own metrics as rates, for the
 * dashboard: every few seconds it copies the running totals of the
 * in-memory series (a few dozen numbers, off the request path), and answers
 * the differences between consecutive copies. Nothing is read from the
 * store, and no call pays for it.
 */
export class StatsSampler {
  private readonly taken: Taken[] = [];
  private readonly intervalMs: number;
  private readonly keep: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  /** @param options where totals come from, and how often. */
  constructor(private readonly options: StatsSamplerOptions) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.keep = Math.ceil((options.windowMs ?? 15 * 60_000) / this.intervalMs) + 1;
    this.now = options.now ?? Date.now;
  }

  /** Takes the first copy and starts the timer (unref'd: it never keeps the process up). */
  start(): void {
    if (this.timer !== undefined) return;
    this.take();
    this.timer = setInterval(() => this.take(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Copies the totals now; the timer calls it, tests may too. */
  take(): void {
    this.taken.push({ time: this.now(), totals: this.options.snapshot() });
    if (this.taken.length > this.keep) this.taken.shift();
  }

  /**
   * The intervals of the window, oldest first, and the interval still
   * running (from the last copy to now) when it is at least a second long,
   * so that a dashboard sees a call within a poll, not a sampling period.
   */
  samples(): IntervalStats[] {
    const out: IntervalStats[] = [];
    for (let i = 1; i < this.taken.length; i++) out.push(this.diff(this.taken[i - 1] as Taken, this.taken[i] as Taken));
    const last = this.taken.at(-1);
    const t = this.now();
    if (last !== undefined && t - last.time >= 1000) out.push(this.diff(last, { time: t, totals: this.options.snapshot() }));
    return out;
  }

  private diff(a: Taken, b: Taken): IntervalStats {
    const seconds = Math.max(0.001, (b.time - a.time) / 1000);
    const methods = new Map<string, RateFigures>();
    for (const [key, calls] of b.totals.rpcCalls) {
      const before = a.totals.rpcCalls.get(key);
      const n = calls.total - (before?.total ?? 0);
      if (n <= 0) continue;
      const latency = delta(b.totals.rpcLatency.get(key), a.totals.rpcLatency.get(key));
      methods.set(key, {
        perSecond: n / seconds,
        errorsPerSecond: (calls.errors - (before?.errors ?? 0)) / seconds,
        p50Ms: quantileMs(latency, 0.5, this.options.buckets),
        p99Ms: quantileMs(latency, 0.99, this.options.buckets),
      });
    }
    const store = new Map<string, RateFigures>();
    for (const [op, totals] of b.totals.storeLatency) {
      const latency = delta(totals, a.totals.storeLatency.get(op));
      if (latency.count <= 0) continue;
      store.set(op, {
        perSecond: latency.count / seconds,
        errorsPerSecond: ((b.totals.storeErrors.get(op) ?? 0) - (a.totals.storeErrors.get(op) ?? 0)) / seconds,
        p50Ms: quantileMs(latency, 0.5, this.options.buckets),
        p99Ms: quantileMs(latency, 0.99, this.options.buckets),
      });
    }
    const hits = b.totals.hits - a.totals.hits;
    const reads = hits + b.totals.misses - a.totals.misses;
    return {
      time: b.time,
      intervalMs: b.time - a.time,
      methods,
      hitRatio: reads > 0 ? hits / reads : 0,
      readsPerSecond: reads / seconds,
      store,
    };
  }
}

function delta(b: HistogramTotals | undefined, a: HistogramTotals | undefined): HistogramTotals {
  if (b === undefined) return { counts: [], count: 0 };
  return { counts: b.counts.map((c, i) => c - (a?.counts[i] ?? 0)), count: b.count - (a?.count ?? 0) };
}

/**
 * The q-quantile of a histogram, in ms, interpolated linearly inside its
 * bucket as Prometheus' histogram_quantile does; the last bound when it
 * falls above every bucket, and 0 without observations.
 */
export function quantileMs(h: HistogramTotals, q: number, bounds: readonly number[]): number {
  if (h.count <= 0) return 0;
  const rank = q * h.count;
  let seen = 0;
  for (let i = 0; i < bounds.length; i++) {
    const inBucket = h.counts[i] ?? 0;
    if (seen + inBucket >= rank && inBucket > 0) {
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const upper = bounds[i] as number;
      return (lower + (upper - lower) * ((rank - seen) / inBucket)) * 1000;
    }
    seen += inBucket;
  }
  return (bounds.at(-1) ?? 0) * 1000;
}
