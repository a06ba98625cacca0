import type { Op } from "./payloads.js";
import type { Case, Section, TargetKind } from "./plan.js";

/** How the report names each target. */
export const targetLabel: Readonly<Record<TargetKind, string>> = {
  "larder-memory": "Larder · memory",
  "larder-redis": "Larder · Redis",
  "larder-redis-tls": "Larder · Redis, TLS",
  "larder-redis-cluster": "Larder · Redis Cluster",
  "grpc-js-map": "grpc-js + Map",
  "bare-h2": "bare node:http2",
  "http1-echo": "node:http JSON",
  redis: "ioredis → Redis",
  "redis-cluster": "ioredis → Redis Cluster",
};

/** How the report titles each section. */
export const sectionTitle: Readonly<Record<Section, string>> = {
  "grpc-raw": "Raw gRPC (h2load, pre-encoded frames over h2c)",
  "grpc-sdk": "SDK level (@larder/sdk over gRPC, Node load generator)",
  "connect-json-h1": "Connect unary JSON over HTTP/1.1 (h2load --h1, one keep-alive connection per call in flight)",
  "redis-direct": "Redis directly (ioredis, Node load generator; on the Cluster, GetMany's 100 keys are 100 GETs in one pipeline per master)",
};

const opLabel: Readonly<Record<Op, string>> = {
  "get-hit": "Get (hit)",
  "get-miss": "Get (miss)",
  set: "Set",
  "get-many": "GetMany(100)",
  increment: "Increment",
};

/** The call a case makes, named as its client names it (Redis commands for ioredis). */
export function callLabel(c: Case): string {
  if (c.section === "redis-direct") {
    // MGET cannot span slots, so on a Cluster the baseline pipelines GETs.
    if (c.op === "get-many") return c.target === "redis-cluster" ? "100 × GET, pipelined" : "MGET(100)";
    return c.op === "get-hit" ? "GET" : opLabel[c.op];
  }
  return opLabel[c.op];
}

/** A value size for people: "100 B", "10 KiB", or "—" for calls without a value. */
export function sizeLabel(bytes: number): string {
  if (bytes === 0) return "—";
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** "64 × 1": calls in flight × connections. */
export function shapeLabel(c: Case): string {
  return `${c.inFlight} × ${c.connections}`;
}

/** A whole case in one line, e.g. "Larder · memory, Get (hit), 100 B, 64 × 1". */
export function caseLabel(c: Case): string {
  return `${targetLabel[c.target]}, ${callLabel(c)}, ${sizeLabel(c.valueBytes)}, ${shapeLabel(c)}`;
}

/** A latency for people: µs below a millisecond, ms above. */
export function latencyLabel(us: number): string {
  if (!Number.isFinite(us)) return "—";
  return us < 1000 ? `${Math.round(us)} µs` : `${(us / 1000).toFixed(2)} ms`;
}

/** Calls per second, rounded, with thousands separators. */
export function rateLabel(perSec: number): string {
  return Math.round(perSec).toLocaleString("en-US");
}

/** A ratio, e.g. "0.42×". */
export function ratioLabel(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "—";
}
