import { afterAll, beforeAll, expect } from "vitest";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import type { LarderServer, LarderServerOptions } from "../../server/index.js";
import { cacheClient, freshNamespace, makeStore, startLarder, type CacheClientOptions, type ConformanceKind } from "./larder.js";
import { startRedis, type RedisServer } from "./redis-server.js";
import type { RedisTopology } from "./redis-topologies.js";
import { shareTopology } from "./shared-topology.js";

/** A server of one store kind, started before a suite and stopped after it. */
export interface LarderFixture {
  readonly server: LarderServer;
  /** The suite's redis-server; only for the redis kind. */
  readonly redis: RedisServer | undefined;
  /** The Cluster or Sentinel set-up, shared by the file's suites of the kind (see shared-topology.ts); only for those kinds. */
  readonly topology: RedisTopology | undefined;
  /** A client in a namespace of its own (or the one given). */
  client(options?: CacheClientOptions): Client<typeof CacheService>;
}

/**
 * Registers beforeAll/afterAll hooks that start a real server on a free port
 * (and, for Redis, a real redis-server of its own, or a real Cluster or
 * Sentinel set-up shared with the file's other suites of the kind) for the
 * current suite.
 */
export function useLarder(kind: ConformanceKind, options: Omit<LarderServerOptions, "store"> = {}): LarderFixture {
  let server: LarderServer | undefined;
  let redis: RedisServer | undefined;
  let topology: RedisTopology | undefined;
  const topologyKind = kind === "redis-cluster-pinned" ? "redis-cluster" : kind;
  const shared = topologyKind === "redis-cluster" || topologyKind === "redis-sentinel" ? shareTopology(topologyKind) : undefined;
  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
    if (shared !== undefined) topology = await shared.acquire();
    server = await startLarder(makeStore(kind, topology?.storeOptions ?? redis?.url), options);
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
    await shared?.release();
  });
  return {
    get server() {
      if (server === undefined) throw new Error("server not started");
      return server;
    },
    get redis() {
      return redis;
    },
    get topology() {
      return topology;
    },
    client(clientOptions = {}) {
      if (server === undefined) throw new Error("server not started");
      return cacheClient(server.url, { namespace: freshNamespace(), ...clientOptions });
    },
  };
}

/** Asserts that a call fails with a code, and that its message matches. */
export async function expectCode(call: Promise<unknown>, code: Code, message?: RegExp): Promise<ConnectError> {
  let caught: unknown;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  expect(caught, "the call should have failed").toBeInstanceOf(ConnectError);
  const err = caught as ConnectError;
  expect(Code[err.code]).toBe(Code[code]);
  if (message !== undefined) expect(err.rawMessage).toMatch(message);
  // Nothing internal leaks: no stack frames, no file paths.
  expect(err.rawMessage).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
  return err;
}

/** Milliseconds since the epoch of a protobuf Timestamp. */
export function ms(ts: { seconds: bigint; nanos: number } | undefined): number {
  if (ts === undefined) throw new Error("timestamp is unset");
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

/** A JSON value message. */
export function json(value: unknown): { kind: { case: "json"; value: string } } {
  return { kind: { case: "json", value: JSON.stringify(value) } };
}

/** Waits. */
export function sleep(msToWait: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msToWait));
}
