import type { Op } from "./payloads.js";

/**
 * The servers a case can measure. `redis` and `redis-cluster` are Redis
 * itself (a standalone redis-server; a Cluster of three masters), driven
 * by ioredis.
 */
export type TargetKind =
  | "larder-memory"
  | "larder-redis"
  | "larder-redis-tls"
  | "larder-redis-cluster"
  | "grpc-js-map"
  | "bare-h2"
  | "http1-echo"
  | "redis"
  | "redis-cluster";

/** Every target kind, in report order. */
export const targetKinds: readonly TargetKind[] = [
  "larder-memory",
  "larder-redis",
  "larder-redis-tls",
  "larder-redis-cluster",
  "grpc-js-map",
  "bare-h2",
  "http1-echo",
  "redis",
  "redis-cluster",
];

/** Whether a target is a Larder server (as opposed to a baseline). */
export function isLarderTarget(kind: TargetKind): boolean {
  return kind === "larder-memory" || kind === "larder-redis" || kind === "larder-redis-tls" || kind === "larder-redis-cluster";
}

/**
 * How a case is driven, which is also how the report groups it:
 * - `grpc-raw`: h2load, pre-encoded gRPC frames over h2c
 * - `grpc-sdk`: the Node load generator calling through `@larder/sdk` (gRPC)
 * - `connect-json-h1`: h2load --h1, Connect unary JSON over HTTP/1.1
 * - `redis-direct`: the Node load generator calling Redis with ioredis
 */
export type Section = "grpc-raw" | "grpc-sdk" | "connect-json-h1" | "redis-direct";

/** Every section, in report order. */
export const sections: readonly Section[] = ["grpc-raw", "grpc-sdk", "connect-json-h1", "redis-direct"];

/** One measured row: a workload against one target, driven one way. */
export interface Case {
  /** e.g. `grpc-raw/larder-memory/get-hit/100B/64x1`; what `--only` matches. */
  readonly id: string;
  readonly section: Section;
  readonly target: TargetKind;
  readonly op: Op;
  /** Value size in bytes; 0 for calls that carry no value (miss, increment). */
  readonly valueBytes: number;
  /** Calls in flight at any time, over all connections. */
  readonly inFlight: number;
  readonly connections: number;
}

interface Shape {
  readonly inFlight: number;
  readonly connections: number;
}

const one: Shape = { inFlight: 1, connections: 1 };
const many: Shape = { inFlight: 64, connections: 1 };
const manyOn4: Shape = { inFlight: 64, connections: 4 };
const small = 100;
const large = 10 * 1024;

const larders: readonly TargetKind[] = ["larder-memory", "larder-redis"];
const grpcServers: readonly TargetKind[] = [...larders, "grpc-js-map"];

function caseOf(section: Section, target: TargetKind, op: Op, valueBytes: number, shape: Shape): Case {
  const size = valueBytes === 0 ? "-" : `${valueBytes}B`;
  return {
    id: `${section}/${target}/${op}/${size}/${shape.inFlight}x${shape.connections}`,
    section,
    target,
    op,
    valueBytes,
    ...shape,
  };
}

/** Cases for every shape × target, targets innermost so that each baseline runs right next to what it is compared with. */
function cells(section: Section, targets: readonly TargetKind[], op: Op, valueBytes: number, shapes: readonly Shape[]): Case[] {
  return shapes.flatMap((shape) => targets.map((target) => caseOf(section, target, op, valueBytes, shape)));
}

/**
 * The full matrix, about 90 cases (≈ 6–7 minutes at the default 1 s
 * warm-up and 2.5 s window). Every shape is measured for the hot call, Get
 * hit; the others get the two shapes that tell most: one call at a time
 * (pure latency) and 64 in flight on one connection (throughput). 64 in
 * flight on 4 connections shows whether a single HTTP/2 connection is a
 * bottleneck. Larder on a Redis Cluster gets the hot calls only, each next
 * to ioredis on the same Cluster.
 */
export function fullPlan(): Case[] {
  const plan: Case[] = [];
  for (const size of [small, large]) {
    plan.push(...cells("grpc-raw", [...grpcServers, "bare-h2"], "get-hit", size, [one, many, manyOn4]));
  }
  plan.push(...cells("grpc-raw", grpcServers, "get-miss", 0, [one, many]));
  plan.push(...cells("grpc-raw", grpcServers, "set", small, [one, many]));
  plan.push(...cells("grpc-raw", grpcServers, "set", large, [many]));
  plan.push(...cells("grpc-raw", grpcServers, "get-many", small, [one, many]));
  plan.push(...cells("grpc-raw", grpcServers, "get-many", large, [many]));
  plan.push(...cells("grpc-raw", grpcServers, "increment", 0, [one, many]));

  plan.push(...cells("grpc-sdk", larders, "get-hit", small, [one, many]));
  plan.push(...cells("grpc-sdk", larders, "get-hit", large, [many]));
  plan.push(...cells("grpc-sdk", larders, "get-many", small, [many]));

  // HTTP/1.1 has one request in flight per connection.
  const h1 = (n: number): Shape => ({ inFlight: n, connections: n });
  plan.push(...cells("connect-json-h1", [...larders, "http1-echo"], "get-hit", small, [h1(1), h1(64)]));
  plan.push(...cells("connect-json-h1", [...larders, "http1-echo"], "get-hit", large, [h1(64)]));

  for (const size of [small, large]) plan.push(...cells("redis-direct", ["redis"], "get-hit", size, [one, many, manyOn4]));
  plan.push(...cells("redis-direct", ["redis"], "get-many", small, [one, many]));
  plan.push(...cells("redis-direct", ["redis"], "get-many", large, [many]));

  // Redis Cluster: the calls that show whether spreading over masters costs
  // Larder more than it costs a Cluster client. No MGET baseline for Set.
  for (const shape of [one, many]) {
    plan.push(caseOf("grpc-raw", "larder-redis-cluster", "get-hit", small, shape), caseOf("redis-direct", "redis-cluster", "get-hit", small, shape));
  }
  plan.push(caseOf("grpc-raw", "larder-redis-cluster", "get-many", small, many), caseOf("redis-direct", "redis-cluster", "get-many", small, many));
  plan.push(caseOf("grpc-raw", "larder-redis-cluster", "set", small, many));
  // TLS on the one port: the same Get, held against itself in cleartext.
  plan.push(caseOf("grpc-raw", "larder-redis-tls", "get-hit", small, many));
  return plan;
}

/**
 * The smoke test: Get hit, 100 B, 64 in flight on one connection, once per
 * way of driving it, against the memory store and the baselines that need
 * no Redis (nor a Redis Cluster, whose three nodes take seconds to form).
 * It proves the harness works end to end in a few seconds.
 */
export function quickPlan(): Case[] {
  return [
    ...cells("grpc-raw", ["larder-memory", "grpc-js-map", "bare-h2"], "get-hit", small, [many]),
    ...cells("grpc-sdk", ["larder-memory"], "get-hit", small, [many]),
    ...cells("connect-json-h1", ["larder-memory", "http1-echo"], "get-hit", small, [{ inFlight: 64, connections: 64 }]),
  ];
}
