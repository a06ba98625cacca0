/**
 * The Redis store's connection: one ioredis client for the topology that
 * the options name (Cluster, Sentinel or standalone), and the wrapper that
 * every call goes through, so that a Redis that is down, slow or failing
 * over is an `unavailable` answer, never a hang or a crash.
 */

import { readFileSync } from "node:fs";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { LarderError } from "../../core/errors.js";

/** Where Redis is. Exactly one topology is used: Cluster, else Sentinel, else `url`. */
export interface RedisConnectionOptions {
  /** Standalone Redis, e.g. `redis://:password@host:6379/0`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Redis Sentinel addresses. Default none (no Sentinel). */
  sentinels?: { host: string; port: number }[];
  /** The master name that the sentinels monitor. Default `mymaster`. */
  sentinelName?: string;
  /** Redis Cluster seed nodes. Default none (no Cluster). */
  clusterNodes?: { host: string; port: number }[];
  /**
   * TLS to every Redis connection: standalone, the Sentinels and the master
   * they name, every Cluster node. A `rediss://` URL turns TLS on by itself,
   * trusting the system roots. Default unset: cleartext (unless `rediss://`).
   */
  tls?: RedisTlsFiles;
  /** How long one store call may wait for Redis before failing as unavailable. Default 2000 ms. */
  callTimeoutMs?: number;
  /** Told about connection errors (never values), e.g. for logging. Default: ignored. */
  onConnectionError?: (err: Error) => void;
}

/** TLS to Redis: PEM file paths. An empty object is TLS trusting the system roots. */
export interface RedisTlsFiles {
  /** The CA that signed Redis' certificate, for a private CA. Default: the system roots. */
  ca?: string;
  /** A client certificate, for a Redis with `tls-auth-clients yes`. Default none. */
  cert?: string;
  /** The client certificate's key. Required with `cert`. */
  key?: string;
}

/** Reads the files into what node:tls takes; a missing file throws, naming it. */
export function redisTlsOptions(files: RedisTlsFiles): TlsConnectionOptions {
  const out: TlsConnectionOptions = {};
  for (const name of ["ca", "cert", "key"] as const) {
    const path = files[name];
    if (path === undefined) continue;
    try {
      out[name] = readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`redis.tls.${name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return out;
}

/** Calls already waiting on a connection from which the next one joins an auto-pipeline. */
const autoPipelineFrom = 16;

// Errors that Redis answers while it cannot serve for now; retrying later works.
const transientReply = /^(LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|BUSY|NOREPLICAS|MOVED|ASK)\b/;

/** The client of the store, and the one way calls are sent through it. */
export class RedisConnection {
  /** The ioredis client. */
  readonly client: Redis | Cluster;
  private readonly timeoutMs: number;
  private everReady = false;
  /** Calls sent and not yet answered. */
  private pending = 0;

  /**
   * @param options where Redis is.
   * @param pipelineExempt calls kept out of auto-pipelining (see below).
   */
  constructor(options: RedisConnectionOptions, pipelineExempt: string[]) {
    this.timeoutMs = options.callTimeoutMs ?? 2000;
    const common: RedisOptions = {
      // Keep reconnecting in the background forever; calls fail fast meanwhile.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      // Calls sent before the first connection wait in the offline queue,
      // but give up after one reconnection attempt rather than the default 20.
      maxRetriesPerRequest: 1,
      connectTimeout: Math.max(this.timeoutMs, 1000),
      // Calls made in the same tick (a burst of requests read from one
      // socket) go to Redis in one write instead of one syscall each.
      enableAutoPipelining: true,
      // Not GetMany: an auto-pipeline answers all its calls at once, when its
      // last reply is in, so a batch of large GetMany answers stayed alive
      // together past the young generation; under GetMany load GC went from
      // a quarter of Larder's CPU to an eighth without it. A GetMany is a
      // large write on its own anyway.
      autoPipeliningIgnoredCommands: pipelineExempt,
    };
    const tls = options.tls === undefined ? undefined : redisTlsOptions(options.tls);
    if (tls !== undefined) common.tls = tls;
    if (options.clusterNodes !== undefined && options.clusterNodes.length > 0) {
      const clusterOptions: ClusterOptions = {
        redisOptions: common,
        clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
        // A Cluster client reads these from its own options, not from redisOptions.
        enableAutoPipelining: true,
        autoPipeliningIgnoredCommands: pipelineExempt,
      };
      this.client = new Cluster(options.clusterNodes, clusterOptions);
    } else if (options.sentinels !== undefined && options.sentinels.length > 0) {
      this.client = new Redis({
        ...common,
        sentinels: options.sentinels,
        name: options.sentinelName ?? "mymaster",
        sentinelRetryStrategy: (times) => Math.min(100 * times, 2000),
        // `tls` alone covers only a standalone connection: the Sentinels
        // take sentinelTLS, and the master they name needs the flag too.
        ...(tls === undefined ? {} : { sentinelTLS: tls, enableTLSForSentinelMode: true }),
      });
    } else {
      this.client = new Redis(options.url ?? "redis://127.0.0.1:6379", common);
    }
    const onError = options.onConnectionError;
    // Without a listener, ioredis' connection errors would crash the process.
    this.client.on("error", (err: Error) => onError?.(err));
    this.client.on("ready", () => {
      this.everReady = true;
    });
  }

  /** Runs one call against Redis, turning connection trouble into `unavailable`. */
  async run<T>(send: () => Promise<T>): Promise<T> {
    // Once connected, a lost connection fails calls at once instead of
    // queueing them for later: a queued write would apply after its caller
    // was told it failed, and the queue would grow while Redis is down.
    if (this.everReady && this.client.status !== "ready") {
      throw new LarderError("unavailable", "backend unavailable: redis connection lost");
    }
    // Auto-pipelining pays for itself only when calls overlap: it builds a
    // Pipeline per flush and waits for setImmediate. Measured here with
    // ioredis 5 GETs against local Redis, client CPU per call: 34 µs with it
    // and 22 µs without at 2 in flight, even at 16, 5.6 against 7.4 µs at
    // 32, 5 against 7.2 at 64. So a call goes into an auto-pipeline only
    // when enough others are waiting on this connection; a lone call is
    // written at once. ioredis reads the option at every call.
    this.client.options.enableAutoPipelining = this.pending >= autoPipelineFrom;
    this.pending++;
    try {
      return await withTimeout(send(), this.timeoutMs);
    } catch (err) {
      throw toLarderError(err);
    } finally {
      this.pending--;
    }
  }

  /** Quits politely when it can, then drops the connection. */
  async close(): Promise<void> {
    try {
      if (this.client.status === "ready") await withTimeout(this.client.quit(), this.timeoutMs);
    } catch {
      // Closing anyway: disconnect below drops whatever quit left behind.
    } finally {
      this.client.disconnect();
    }
  }

  /** The call timeout, for connections made alongside (the release subscriber). */
  get callTimeoutMs(): number {
    return this.timeoutMs;
  }
}

/** Maps an ioredis failure to a LarderError; script bugs stay internal errors. */
function toLarderError(err: unknown): unknown {
  if (err instanceof LarderError) return err;
  if (err instanceof Error && err.name === "ReplyError") {
    if (err.message.startsWith("OOM")) return new LarderError("resourceExhausted", "backend out of memory");
    const transient = transientReply.exec(err.message);
    if (transient === null) return err;
    return new LarderError("unavailable", `backend unavailable: redis answered ${transient[1]}`);
  }
  return new LarderError("unavailable", "backend unavailable: cannot reach redis");
}

/**
 * Settles with `call`, or fails as unavailable after `ms`. One timer and
 * one promise per call: the Promise.race version cost two more promises and
 * a closure on every Get.
 */
function withTimeout<T>(call: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      call.catch(() => {});
      reject(new LarderError("unavailable", "backend unavailable: redis did not answer in time"));
    }, ms);
    call.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
