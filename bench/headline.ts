/**
 * The figures a run is read by first: ratios that combine several rows of
 * the same run (GetMany keys/s against MGET, the cost of the hop at one
 * call in flight), and the performance targets, each with whether this run
 * meets it. Computed from the rows only, never from another run: a ratio
 * across runs would mix machine states.
 */
import type { Row } from "./measure.js";
import type { Op } from "./payloads.js";
import type { Section, TargetKind } from "./plan.js";

/** A ratio computed from several rows of one run. */
export interface DerivedRatio {
  /** A stable name for scripts reading `<name>.json`, e.g. `hop-1x1/larder-redis`. */
  readonly id: string;
  /** What it measures, as the report names it. */
  readonly label: string;
  readonly value: number;
  /** The ids of the rows it was computed from. */
  readonly rows: readonly string[];
}

/** A target and what this run measured for it. */
export interface TargetCheck {
  /** A stable name for scripts reading `<name>.json`, e.g. `hop-1x1`. */
  readonly id: string;
  /** What is measured, as the report names it. */
  readonly measure: string;
  /** "≥" when more is better (throughput), "≤" when less is (latency). */
  readonly direction: "≥" | "≤";
  readonly target: number;
  /** Undefined when the run did not measure every row it needs (e.g. under --only). */
  readonly value: number | undefined;
  /** Whether the measured value meets the target; undefined when not measured. */
  readonly holds: boolean | undefined;
  /** The ids of the rows it was computed from (those that were measured). */
  readonly rows: readonly string[];
}

/** The headline figures of a run; see {@link headline}. */
export interface Headline {
  readonly ratios: readonly DerivedRatio[];
  readonly targets: readonly TargetCheck[];
}

interface Pick {
  readonly section: Section;
  readonly target: TargetKind;
  readonly op: Op;
  readonly inFlight: number;
}

const small = 100;

/** The row of a 100 B (or valueless) case on one connection, if the run measured it. */
function find(rows: readonly Row[], pick: Pick): Row | undefined {
  return rows.find(
    (r) =>
      r.section === pick.section &&
      r.target === pick.target &&
      r.op === pick.op &&
      r.inFlight === pick.inFlight &&
      r.connections === 1 &&
      r.valueBytes === small &&
      r.callsPerSec > 0,
  );
}

const raw = (target: TargetKind, op: Op, inFlight: number): Pick => ({ section: "grpc-raw", target, op, inFlight });
const direct = (target: TargetKind, op: Op, inFlight: number): Pick => ({ section: "redis-direct", target, op, inFlight });

/** A figure from some rows, or undefined with the ids of those that were found. */
interface Measured {
  readonly value: number | undefined;
  readonly rows: readonly string[];
}

function measure(rows: readonly Row[], picks: readonly Pick[], compute: (found: readonly Row[]) => number): Measured {
  const found = picks.map((p) => find(rows, p));
  const present = found.filter((r): r is Row => r !== undefined);
  if (present.length < picks.length) return { value: undefined, rows: present.map((r) => r.id) };
  const value = compute(present);
  return { value: Number.isFinite(value) ? value : undefined, rows: present.map((r) => r.id) };
}

const at = (found: readonly Row[], i: number): Row => found[i] as Row;

/** calls/s of the first row ÷ calls/s of the second (for GetMany: keys/s, as both read 100 keys a call). */
const throughputRatio = (found: readonly Row[]): number => at(found, 0).callsPerSec / at(found, 1).callsPerSec;

/**
 * The hop at one call in flight: Larder's p50 ÷ (bare node:http2's p50 +
 * ioredis GET's p50). 1× would mean that Larder adds nothing to a socket
 * that answers plus the Redis round trip it makes.
 */
const hopRatio = (found: readonly Row[]): number => at(found, 0).p50Us / (at(found, 1).p50Us + at(found, 2).p50Us);

/** The Larder target and its ioredis baseline, for standalone Redis and for the Cluster. */
const redisKinds: readonly { readonly larder: TargetKind; readonly redis: TargetKind; readonly name: string; readonly mget: string }[] = [
  { larder: "larder-redis", redis: "redis", name: "Redis", mget: "ioredis MGET(100)" },
  { larder: "larder-redis-cluster", redis: "redis-cluster", name: "Redis Cluster", mget: "ioredis 100 GETs pipelined per master" },
];

const hopLabel = "1-in-flight hop: p50 ÷ (bare h2 p50 + ioredis GET p50)";

function derivedRatios(rows: readonly Row[]): DerivedRatio[] {
  const out: DerivedRatio[] = [];
  const add = (id: string, label: string, m: Measured): void => {
    if (m.value !== undefined) out.push({ id, label, value: m.value, rows: m.rows });
  };
  for (const k of redisKinds) {
    for (const inFlight of [1, 64]) {
      add(
        `get-many-keys-vs-mget/${k.larder}/${inFlight}x1`,
        `Larder · ${k.name} GetMany(100), ${inFlight} × 1: keys/s ÷ ${k.mget} keys/s`,
        measure(rows, [raw(k.larder, "get-many", inFlight), direct(k.redis, "get-many", inFlight)], throughputRatio),
      );
    }
  }
  for (const k of redisKinds) {
    add(
      `hop-1x1/${k.larder}`,
      `Larder · ${k.name} Get (hit), 100 B, 1 × 1 — ${hopLabel}`,
      measure(rows, [raw(k.larder, "get-hit", 1), raw("bare-h2", "get-hit", 1), direct(k.redis, "get-hit", 1)], hopRatio),
    );
  }
  return out;
}

function targetChecks(rows: readonly Row[]): TargetCheck[] {
  const check = (id: string, label: string, direction: "≥" | "≤", target: number, m: Measured): TargetCheck => ({
    id,
    measure: label,
    direction,
    target,
    value: m.value,
    holds: m.value === undefined ? undefined : direction === "≥" ? m.value >= target : m.value <= target,
    rows: m.rows,
  });
  const redisGet = raw("larder-redis", "get-hit", 64);
  return [
    check("get-vs-grpc-js", "Larder · Redis Get (hit) 100 B, 64 × 1: calls/s ÷ grpc-js + Map", "≥", 1.5, measure(rows, [redisGet, raw("grpc-js-map", "get-hit", 64)], throughputRatio)),
    check("get-vs-bare-h2", "Larder · Redis Get (hit) 100 B, 64 × 1: calls/s ÷ bare node:http2", "≥", 0.7, measure(rows, [redisGet, raw("bare-h2", "get-hit", 64)], throughputRatio)),
    check(
      "get-many-keys-vs-mget",
      "Larder · Redis GetMany(100) 100 B, 64 × 1: keys/s ÷ ioredis MGET(100)",
      "≥",
      0.5,
      measure(rows, [raw("larder-redis", "get-many", 64), direct("redis", "get-many", 64)], throughputRatio),
    ),
    check(
      "get-p99-vs-bare-h2",
      "Larder · Redis Get (hit) 100 B, 64 × 1: p99 ÷ bare node:http2 p99",
      "≤",
      1.2,
      measure(rows, [redisGet, raw("bare-h2", "get-hit", 64)], (f) => at(f, 0).p99Us / at(f, 1).p99Us),
    ),
    check(
      "hop-1x1",
      `Larder · Redis Get (hit) 100 B, 1 × 1: ${hopLabel}`,
      "≤",
      1.1,
      measure(rows, [raw("larder-redis", "get-hit", 1), raw("bare-h2", "get-hit", 1), direct("redis", "get-hit", 1)], hopRatio),
    ),
  ];
}

/** The derived ratios and the target checks of a run's rows. */
export function headline(rows: readonly Row[]): Headline {
  return { ratios: derivedRatios(rows), targets: targetChecks(rows) };
}
