import type { Row } from "./measure.js";
import { isLarderTarget, type Case, type Section, type TargetKind } from "./plan.js";

/** One Larder row set against one baseline row of the same run. */
export interface Comparison {
  readonly larder: string;
  readonly baseline: string;
  /** What the baseline stands for, e.g. "grpc-js + Map", or "ioredis MGET(100), keys/s". */
  readonly baselineLabel: string;
  /** Larder's calls/s ÷ the baseline's (for GetMany vs MGET, keys/s ÷ keys/s: the same 100 keys per call). Above 1: Larder is faster. */
  readonly throughput: number;
  /** Larder's p50 ÷ the baseline's. Above 1: Larder is slower. */
  readonly p50: number;
  /** Larder's p99 ÷ the baseline's. Above 1: Larder is slower. */
  readonly p99: number;
  /** Larder's serving CPU per call ÷ the baseline's (Redis included on both sides where used). Above 1: Larder costs more. */
  readonly cpuPerCall: number;
}

interface BaselineRule {
  readonly section: Section;
  readonly target: TargetKind;
  /** What the baseline stands for; may depend on the Larder case (GetMany compares keys/s). */
  readonly label: string | ((c: Case) => string);
  /** Whether this baseline applies to a Larder case. */
  readonly applies: (c: Case) => boolean;
}

const isLarder = (c: Case): boolean => isLarderTarget(c.target);
const readsRedis = (c: Case): boolean => c.section === "grpc-raw" && (c.op === "get-hit" || c.op === "get-many");

/**
 * Which baseline each Larder row is compared with. Each answers one
 * question:
 * - grpc-js + Map: what does Larder cost over the plainest gRPC server
 *   with the same RPCs?
 * - bare node:http2: what does it cost over answering from a socket at all?
 * - ioredis GET / MGET: is going through Larder cheaper than calling Redis
 *   directly (memory store), and how close to Redis does it get (Redis
 *   store)? Larder on a Cluster is held against ioredis' Cluster client on
 *   the same Cluster, whose GetMany is pipelined GETs (MGET cannot span
 *   slots).
 * - raw gRPC (h2load): what do the SDK and its client stack add?
 * - the same in cleartext: what does TLS on the port cost once connected?
 * - node:http JSON: what does Larder add over a bare HTTP/1.1 JSON endpoint?
 */
const rules: readonly BaselineRule[] = [
  { section: "grpc-raw", target: "larder-redis", label: "the same in cleartext", applies: (c) => c.target === "larder-redis-tls" },
  { section: "grpc-raw", target: "grpc-js-map", label: "grpc-js + Map", applies: (c) => c.section === "grpc-raw" && isLarder(c) },
  { section: "grpc-raw", target: "bare-h2", label: "bare node:http2", applies: (c) => c.section === "grpc-raw" && isLarder(c) && c.op === "get-hit" },
  {
    section: "redis-direct",
    target: "redis",
    label: (c) => (c.op === "get-many" ? "ioredis MGET(100), keys/s" : "ioredis direct"),
    applies: (c) => readsRedis(c) && (c.target === "larder-memory" || c.target === "larder-redis"),
  },
  {
    section: "redis-direct",
    target: "redis-cluster",
    label: (c) => (c.op === "get-many" ? "ioredis · Cluster, 100 GETs pipelined, keys/s" : "ioredis direct · Cluster"),
    applies: (c) => readsRedis(c) && c.target === "larder-redis-cluster",
  },
  { section: "grpc-raw", target: "larder-memory", label: "raw gRPC (h2load)", applies: (c) => c.section === "grpc-sdk" && c.target === "larder-memory" },
  { section: "grpc-raw", target: "larder-redis", label: "raw gRPC (h2load)", applies: (c) => c.section === "grpc-sdk" && c.target === "larder-redis" },
  {
    section: "grpc-raw",
    target: "larder-redis-cluster",
    label: "raw gRPC (h2load)",
    applies: (c) => c.section === "grpc-sdk" && c.target === "larder-redis-cluster",
  },
  { section: "connect-json-h1", target: "http1-echo", label: "node:http JSON", applies: (c) => c.section === "connect-json-h1" && isLarder(c) },
];

/** Whether two cases make the same call with the same value size and concurrency. */
export const sameWorkload = (a: Case, b: Case): boolean =>
  a.op === b.op && a.valueBytes === b.valueBytes && a.inFlight === b.inFlight && a.connections === b.connections;

/**
 * Pairs every Larder row with the baselines measured in the same run for
 * the same call, value size and concurrency. A baseline missing from the
 * run (e.g. filtered out by --only) is simply not compared; a ratio to a
 * figure from another run would mix machine states.
 */
export function compare(rows: readonly Row[]): Comparison[] {
  const comparisons: Comparison[] = [];
  for (const row of rows) {
    if (row.callsPerSec === 0) continue;
    for (const rule of rules) {
      if (!rule.applies(row)) continue;
      const base = rows.find((b) => b.section === rule.section && b.target === rule.target && sameWorkload(row, b));
      if (base === undefined || base.callsPerSec === 0) continue;
      comparisons.push({
        larder: row.id,
        baseline: base.id,
        baselineLabel: typeof rule.label === "string" ? rule.label : rule.label(row),
        throughput: row.callsPerSec / base.callsPerSec,
        p50: row.p50Us / base.p50Us,
        p99: row.p99Us / base.p99Us,
        cpuPerCall: row.cpuUsPerCall / base.cpuUsPerCall,
      });
    }
  }
  return comparisons;
}
