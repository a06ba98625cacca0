import type { Op } from "../payloads.js";

/** The clients the Node load generator can drive: the SDK, ioredis on a redis-server, ioredis' Cluster client. */
export type DriverKind = "sdk-grpc" | "ioredis" | "ioredis-cluster";

/** The config the bench passes to the Node load generator process. */
export interface NodeLoadConfig {
  readonly driver: DriverKind;
  /** `http://127.0.0.1:<port>` for Larder and baselines, `redis://…` for ioredis (for a Cluster, any one node: the client finds the rest). */
  readonly url: string;
  readonly op: Op;
  readonly valueBytes: number;
  /** Concurrent call loops: the number of calls in flight at any time. */
  readonly inFlight: number;
  /** Connections the loops share round-robin. */
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
}

/** A client ready to make one kind of call, over its own connections. */
export interface Driver {
  /** Makes one call; `loop` picks the connection. Rejects if the call failed or answered wrongly. */
  call(loop: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens a driver: connects, primes any data it needs, and returns once a call can be made. */
export type OpenDriver = (config: NodeLoadConfig) => Promise<Driver>;
