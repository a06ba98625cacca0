import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { createCounterFamily, createHistogramFamily } from "./metric-series.js";

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /**
   * Also export the standard Node.js process metrics (`process_*`,
   * `nodejs_*`: CPU, memory, event loop lag, GC), unprefixed so that stock
   * dashboards work. Default true.
   */
  defaultMetrics?: boolean;
}

/** The `metrics` settings of a server (and of the config file). */
export interface MetricsSettings {
  /** Whether metrics are collected and served at all. Default true. */
  enabled?: boolean;
  /**
   * Serve metrics on this port (plain HTTP/1.1) instead of the main one,
   * e.g. to keep them off the port that clients reach; 0 picks a free one.
   * Default: the main port.
   */
  port?: number;
  /** The path metrics are served at. Default "/metrics". */
  path?: string;
}

/** How a RunCommand response was served (see the spec's RunCommand section). */
export type CommandSource = "live" | "cached" | "fallback";

/**
 * The metric events the service logic reports. Locks and RunCommand call
 * these; {@link noopServiceMetrics} stands in when metrics are off, so the
 * logic never checks.
 */
export interface ServiceMetrics {
  /** A Lock call acquired its lock after waiting `waitedMs` (0 when it was free at once). */
  lockGranted(waitedMs?: number): void;
  /** A Lock call found the lock held and started waiting for it. */
  lockWaitStarted(): void;
  /** A Lock call returned without the lock (held by another, wait over). */
  lockNotAcquired(): void;
  /** RunCommand switched a command identity into fallback mode. */
  commandFallbackActivated(command: string): void;
  /** RunCommand answered, from upstream, from the fresh cache, or in fallback. */
  commandServed(command: string, source: CommandSource): void;
}

/**
 * Larder's Prometheus metrics, on a registry of their own so that several
 * servers in one process (tests, embedding) never share or clash.
 */
export interface LarderMetrics extends ServiceMetrics {
  /** The registry every Larder metric lives in. */
  readonly registry: Registry;
  /** The Content-Type of {@link render}'s text. */
  readonly contentType: string;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
  /** One RPC finished (or was refused before the handler ran). */
  rpcHandled(call: RpcLabels, code: string, seconds: number): void;
  /**
   * Counts hits and misses of a `larder.v1.CacheService` Get or GetMany
   * answer, given as a message or as its init shape (the gRPC fast path
   * encodes init shapes without creating messages).
   */
  cacheResult(method: string, response: object): void;
  /** One store call finished; `errorKind` is set when it failed. */
  storeCall(store: string, op: string, seconds: number, errorKind?: string): void;
  /** Whether health reports SERVING (1) or not (0). */
  setServing(serving: boolean): void;
  /**
   * The running totals of the per-call series, copied, for in-process
   * readers (the admin statistics) that must not parse the exposition.
   */
  snapshot(): MetricsSnapshot;
  /** The upper bounds (seconds) of the latency histograms' buckets that {@link snapshot} copies. */
  readonly latencyBuckets: readonly number[];
}

/** A histogram's running totals: per-bucket counts (not cumulative; above the last bound only in `count`) and count. */
export interface HistogramTotals {
  readonly counts: readonly number[];
  readonly count: number;
}

/** The running totals of {@link LarderMetrics.snapshot}, keyed as in each field's comment. */
export interface MetricsSnapshot {
  /** `service/method` → calls and calls that did not end ok (canceled and not_found count as ok here). */
  readonly rpcCalls: ReadonlyMap<string, { readonly total: number; readonly errors: number }>;
  /** `service/method` → latency histogram. */
  readonly rpcLatency: ReadonlyMap<string, HistogramTotals>;
  /** Keys found and not found by Get and GetMany. */
  readonly hits: number;
  readonly misses: number;
  /** Store op → round-trip histogram. */
  readonly storeLatency: ReadonlyMap<string, HistogramTotals>;
  /** Store op → failed calls. */
  readonly storeErrors: ReadonlyMap<string, number>;
}

/** The fields of a GetResponse or GetManyResponse that hit/miss counts read; absent means false. */
interface CacheAnswer {
  readonly found?: boolean;
  readonly items?: readonly { readonly found?: boolean }[];
}

/** The labels that identify an RPC in metrics. */
export interface RpcLabels {
  /** Fully-qualified service, e.g. `larder.v1.CacheService`. */
  readonly service: string;
  /** Method name, e.g. `Get`. */
  readonly method: string;
  /** `grpc`, `grpc-web` or `connect`. */
  readonly protocol: string;
}

// Cache and store calls take well under a millisecond in memory and a few
// ms over a network; the low buckets are what tell them apart.
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Lock waits are bounded by maxLockWaitMs (default 60 s).
const lockWaitBuckets = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Creates the metrics of one server. */
export function createMetrics(options: MetricsOptions = {}): LarderMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  // The per-call series are plain numbers that prom-client reads only when
  // scraped: its own Counter and Histogram hash a label object and allocate
  // on every call, which showed in Get profiles.
  const rpcTotal = createCounterFamily({
    name: "larder_rpc_requests_total",
    help: "RPCs handled, by service, method, protocol and status code (ok, not_found, unavailable, ...).",
    labelNames: ["service", "method", "protocol", "code"],
    registry,
  });
  const rpcSeconds = createHistogramFamily({
    name: "larder_rpc_duration_seconds",
    help: "Time from the start of an RPC to its last response message, in seconds.",
    labelNames: ["service", "method"],
    buckets: latencyBuckets,
    registry,
  });
  const hits = createCounterFamily({
    name: "larder_cache_hits_total",
    help: "Keys found by Get and GetMany.",
    labelNames: ["method"],
    registry,
  });
  const misses = createCounterFamily({
    name: "larder_cache_misses_total",
    help: "Keys not found by Get and GetMany.",
    labelNames: ["method"],
    registry,
  });
  const storeSeconds = createHistogramFamily({
    name: "larder_store_duration_seconds",
    help: "Round-trip time of store calls (one backend round trip each), in seconds.",
    labelNames: ["store", "op"],
    buckets: latencyBuckets,
    registry,
  });
  const storeErrors = new Counter({
    name: "larder_store_errors_total",
    help: "Store calls that failed, by error kind (unavailable when the backend cannot be reached).",
    labelNames: ["store", "op", "kind"] as const,
    registers,
  });
  const serving = new Gauge({
    name: "larder_serving",
    help: "1 while health reports SERVING (store reachable, not shutting down), else 0.",
    registers,
  });
  // The store error counter is prom-client's; this tally is what snapshot() reads.
  const storeErrorTotals = new Map<string, number>();
  const lockGrants = new Counter({ name: "larder_lock_grants_total", help: "Locks granted.", registers });
  const lockWaits = new Counter({
    name: "larder_lock_waits_total",
    help: "Lock calls that found the lock held and waited for it.",
    registers,
  });
  const lockDenied = new Counter({
    name: "larder_lock_not_acquired_total",
    help: "Lock calls that returned without the lock.",
    registers,
  });
  const lockWaitSeconds = new Histogram({
    name: "larder_lock_wait_seconds",
    help: "How long granted Lock calls waited for the lock, in seconds.",
    buckets: lockWaitBuckets,
    registers,
  });
  const fallbacks = new Counter({
    name: "larder_command_fallback_activations_total",
    help: "Times RunCommand switched a command into fallback mode.",
    labelNames: ["command"] as const,
    registers,
  });
  const commands = new Counter({
    name: "larder_command_responses_total",
    help: "RunCommand responses, by how they were served (live, cached, fallback).",
    labelNames: ["command", "source"] as const,
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    rpcHandled(call, code, seconds) {
      rpcTotal.series(call.service, call.method, call.protocol, code).inc();
      rpcSeconds.series(call.service, call.method).observe(seconds);
    },
    cacheResult(method, response) {
      if (method === "Get") {
        ((response as CacheAnswer).found === true ? hits : misses).series(method).inc();
      } else if (method === "GetMany") {
        const items = (response as CacheAnswer).items ?? [];
        let found = 0;
        for (const item of items) if (item.found === true) found++;
        if (found > 0) hits.series(method).inc(found);
        if (items.length > found) misses.series(method).inc(items.length - found);
      }
    },
    storeCall(store, op, seconds, errorKind) {
      storeSeconds.series(store, op).observe(seconds);
      if (errorKind !== undefined) {
        storeErrors.inc({ store, op, kind: errorKind });
        storeErrorTotals.set(op, (storeErrorTotals.get(op) ?? 0) + 1);
      }
    },
    setServing(up) {
      serving.set(up ? 1 : 0);
    },
    lockGranted(waitedMs = 0) {
      lockGrants.inc();
      if (waitedMs > 0) lockWaitSeconds.observe(waitedMs / 1000);
    },
    lockWaitStarted() {
      lockWaits.inc();
    },
    lockNotAcquired() {
      lockDenied.inc();
    },
    commandFallbackActivated(command) {
      fallbacks.inc({ command });
    },
    commandServed(command, source) {
      commands.inc({ command, source });
    },
    latencyBuckets,
    snapshot() {
      const rpcCalls = new Map<string, { total: number; errors: number }>();
      rpcTotal.each(([service, method, , code], s) => {
        const key = `${service}/${method}`;
        const t = rpcCalls.get(key) ?? { total: 0, errors: 0 };
        t.total += s.value;
        if (!okCodes.has(code ?? "")) t.errors += s.value;
        rpcCalls.set(key, t);
      });
      const rpcLatency = new Map<string, HistogramTotals>();
      rpcSeconds.each(([service, method], s) => rpcLatency.set(`${service}/${method}`, { counts: Array.from(s.counts), count: s.count }));
      // Several stores (kinds) in one server do not happen; ops are summed over them all the same.
      const storeLatency = new Map<string, HistogramTotals>();
      storeSeconds.each(([, op], s) => {
        const prev = storeLatency.get(op ?? "");
        const counts = Array.from(s.counts);
        if (prev !== undefined) prev.counts.forEach((c, i) => (counts[i] = (counts[i] ?? 0) + c));
        storeLatency.set(op ?? "", { counts, count: s.count + (prev?.count ?? 0) });
      });
      let hitTotal = 0;
      let missTotal = 0;
      hits.each((_, s) => (hitTotal += s.value));
      misses.each((_, s) => (missTotal += s.value));
      return { rpcCalls, rpcLatency, hits: hitTotal, misses: missTotal, storeLatency, storeErrors: new Map(storeErrorTotals) };
    },
  };
}

// A miss is a normal answer and a client going away is not a server error.
const okCodes = new Set(["ok", "canceled", "not_found"]);

/** Service metrics that record nothing, for servers without metrics. */
export const noopServiceMetrics: ServiceMetrics = {
  lockGranted() {},
  lockWaitStarted() {},
  lockNotAcquired() {},
  commandFallbackActivated() {},
  commandServed() {},
};
