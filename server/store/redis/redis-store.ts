import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { LarderError } from "../../core/errors.js";
import type { CommandState } from "../command-state.js";
import { globToRegExp } from "../glob.js";
import { createRedisCommandState } from "./command-state.js";
import { lockScripts } from "./lock-scripts.js";
import { ReleaseSubscriber } from "./lock-watch.js";
import { RedisLocks, type LockScriptFns } from "./locks.js";
import { decodeEntries, encodeValue } from "./entries.js";
import { bytes, int, list, optInt, text, type ScriptFn } from "./script.js";
import { scanPageArgs } from "./scan.js";
import { scripts } from "./scripts.js";
import type { Entry, Expiry, ExtendLockOutcome, ExtendOutcome, HasOutcome, IncrementOutcome, KeysPage, LockAttempt, LockGrant, LockHolder, LocksPage, SetInput, SetManyOutcome, SetOutcome, Store, UnlockOutcome, WriteInput } from "../store.js";

/**
 * Options of {@link createRedisStore}. Exactly one topology is used: Cluster
 * when `clusterNodes` is given, else Sentinel when `sentinels` is given,
 * else the standalone `url`.
 */
export interface RedisStoreOptions {
  /** Standalone Redis, e.g. `redis://:password@host:6379/0`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Redis Sentinel addresses. Default none (no Sentinel). */
  sentinels?: { host: string; port: number }[];
  /** The master name that the sentinels monitor. Default `mymaster`. */
  sentinelName?: string;
  /** Redis Cluster seed nodes. Default none (no Cluster). */
  clusterNodes?: { host: string; port: number }[];
  /** First segment of every Redis key, so Larder can share a Redis. Must not contain `{` or `}`. Default `larder`. */
  keyPrefix?: string;
  /** How long one store call may wait for Redis before failing as unavailable. Default 2000 ms. */
  callTimeoutMs?: number;
  /**
   * Added to Redis' clock in RunCommand's state only. Default none. Tests
   * move the fallback state machine's clock with it instead of sleeping.
   */
  commandClockOffsetMs?: () => number;
  /** Told about connection errors (never values), e.g. for logging. Default: ignored. */
  onConnectionError?: (err: Error) => void;
}

/**
 * Creates the Redis store. The connection is made in the background and kept
 * alive: while Redis is unreachable, calls fail fast as `unavailable`, and
 * the store recovers on its own when Redis comes back.
 */
export function createRedisStore(options: RedisStoreOptions = {}): Store {
  return new RedisStore(options);
}

/** The script functions that `defineCommand` adds; `…Buffer` answers bulk strings as Buffers. */
type ScriptFns = Record<`${keyof typeof scripts}${"" | "Buffer"}`, ScriptFn> & LockScriptFns;

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
// Errors that Redis answers while it cannot serve for now; retrying later works.
const transientReply = /^(LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|BUSY|NOREPLICAS|MOVED|ASK)\b/;

/** The Redis backend; see {@link createRedisStore}. */
class RedisStore implements Store {
  readonly kind = "redis";
  private readonly client: Redis | Cluster;
  private readonly scripts: ScriptFns;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly subscriber: ReleaseSubscriber;
  private readonly locks: RedisLocks;
  private everReady = false;
  readonly commandState: CommandState;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.keyPrefix ?? "larder";
    // A brace in the prefix would move the Cluster hash tag out of the
    // namespace segment, or empty it, and scatter a namespace over slots.
    if (/[{}]/.test(this.prefix)) throw new Error("redis keyPrefix must not contain { or }");
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
      autoPipeliningIgnoredCommands: ["larderGetMany"],
    };
    if (options.clusterNodes !== undefined && options.clusterNodes.length > 0) {
      const clusterOptions: ClusterOptions = {
        redisOptions: common,
        clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
        // A Cluster client reads these from its own options, not from redisOptions.
        enableAutoPipelining: common.enableAutoPipelining ?? false,
        autoPipeliningIgnoredCommands: common.autoPipeliningIgnoredCommands ?? [],
      };
      this.client = new Cluster(options.clusterNodes, clusterOptions);
    } else if (options.sentinels !== undefined && options.sentinels.length > 0) {
      this.client = new Redis({
        ...common,
        sentinels: options.sentinels,
        name: options.sentinelName ?? "mymaster",
        sentinelRetryStrategy: (times) => Math.min(100 * times, 2000),
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
    for (const [name, definition] of Object.entries({ ...scripts, ...lockScripts })) {
      this.client.defineCommand(name, definition);
    }
    this.scripts = this.client as unknown as ScriptFns;
    // duplicate() keeps the topology and options, so the subscriber follows
    // a Sentinel failover or Cluster like the main connection does.
    this.subscriber = new ReleaseSubscriber({ open: () => this.client.duplicate(), timeoutMs: this.timeoutMs });
    this.locks = new RedisLocks({
      scripts: this.scripts,
      run: (send) => this.run(send),
      tag: (ns) => this.tag(ns),
      subscriber: this.subscriber,
    });
    this.commandState = createRedisCommandState({
      client: this.client,
      tag: (ns) => this.tag(ns),
      run: (send) => this.run(send),
      ...(options.commandClockOffsetMs === undefined ? {} : { clockOffsetMs: options.commandClockOffsetMs }),
    });
  }

  async get(ns: string, key: string, touchTtlMs?: number): Promise<Entry | undefined> {
    const touch = touchTtlMs === undefined ? "" : String(touchTtlMs);
    const reply = await this.run(() => this.scripts.larderGetBuffer(this.entryKey(ns, key), touch));
    // A miss is nil; a hit is answered as GetMany answers one.
    return reply === null ? undefined : decodeEntries(reply, 1)[0];
  }

  async getMany(ns: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    if (keys.length === 0) return [];
    const names = keys.map((key) => this.entryKey(ns, key));
    const reply = await this.run(() => this.scripts.larderGetManyBuffer(names.length, ...names));
    return decodeEntries(reply, keys.length);
  }

  async set(ns: string, input: SetInput): Promise<SetOutcome> {
    const c = input.condition;
    const mode = c.mode === "ifAbsent" ? "absent" : c.mode === "ifPresent" ? "present" : c.mode === "ifVersion" ? "version" : "always";
    const version = c.mode === "ifVersion" ? String(c.version) : "";
    const [value, kind] = encodeValue(input.value);
    const [seq, entry, ttl] = [this.seqKey(ns), this.entryKey(ns, input.key), ttlArg(input.expiry)];
    const g = input.guard;
    const reply = list(
      await this.run(() =>
        g === undefined
          ? this.scripts.larderSet(seq, entry, value, kind, ttl, mode, version)
          : this.scripts.larderGuardedSet(seq, entry, this.locks.key(ns, g.name), value, kind, ttl, mode, version, g.token, String(g.minFencingToken)),
      ),
    );
    return {
      applied: int(reply[0]) === 1,
      created: int(reply[1]) === 1,
      version: int(reply[2]),
      expiresAt: optInt(reply[3]),
    };
  }

  async setMany(ns: string, inputs: readonly WriteInput[]): Promise<SetManyOutcome[]> {
    if (inputs.length === 0) return [];
    const keys = [this.seqKey(ns)];
    const args: (string | Buffer)[] = [];
    for (const input of inputs) {
      const [value, kind] = encodeValue(input.value);
      keys.push(this.entryKey(ns, input.key));
      args.push(value, kind, ttlArg(input.expiry));
    }
    const reply = list(await this.run(() => this.scripts.larderSetMany(keys.length, ...keys, ...args)));
    return inputs.map((_, i) => ({ created: int(reply[2 * i]) === 1, version: int(reply[2 * i + 1]) }));
  }

  async has(ns: string, key: string): Promise<HasOutcome> {
    const reply = list(await this.run(() => this.scripts.larderHas(this.entryKey(ns, key))));
    return int(reply[0]) === 1 ? { found: true, expiresAt: optInt(reply[1]) } : { found: false };
  }

  async delete(ns: string, keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const names = keys.map((key) => this.entryKey(ns, key));
    return int(await this.run(() => this.scripts.larderDelete(names.length, ...names)));
  }

  async extend(ns: string, key: string, addMs: number, maxTtlMs: number): Promise<ExtendOutcome> {
    const entry = this.entryKey(ns, key);
    const reply = list(await this.run(() => this.scripts.larderExtend(entry, String(addMs), String(maxTtlMs))));
    switch (int(reply[0])) {
      case 0:
        return { status: "missing" };
      case 2:
        return { status: "exceedsMax", remainingMs: int(reply[1]) };
      default:
        return { status: "extended", expiresAt: optInt(reply[1]) };
    }
  }

  async keys(ns: string, pattern: string, cursor: string, limit: number): Promise<KeysPage> {
    const prefix = this.entryPrefix(ns);
    const args = scanPageArgs(prefix, pattern, cursor, limit);
    const reply = list(await this.run(() => this.scripts.larderKeysBuffer(this.seqKey(ns), ...args)));
    // MATCH works on bytes and was only a superset of the glob (see
    // matchSuperset); this filter applies the glob by code point.
    const matcher = globToRegExp(pattern);
    const prefixBytes = Buffer.byteLength(prefix);
    const keys = new Set<string>();
    for (const name of list(reply[1] ?? null)) {
      const key = bytes(name).subarray(prefixBytes).toString("utf8");
      if (matcher.test(key)) keys.add(key);
    }
    return { keys: [...keys], nextCursor: text(reply[0] ?? null) };
  }

  async increment(ns: string, key: string, delta: bigint, expiry: Expiry): Promise<IncrementOutcome> {
    if (delta < int64Min || delta > int64Max) {
      throw new LarderError("outOfRange", "delta: the result would overflow a 64-bit integer");
    }
    const [seq, entry] = [this.seqKey(ns), this.entryKey(ns, key)];
    const reply = list(await this.run(() => this.scripts.larderIncrement(seq, entry, delta.toString(), ttlArg(expiry))));
    switch (int(reply[0])) {
      case 1:
        throw new LarderError("failedPrecondition", "key: the stored value is not an integer");
      case 2:
        throw new LarderError("outOfRange", "delta: the result would overflow a 64-bit integer");
      default:
        return {
          value: BigInt(text(reply[1] ?? null)),
          created: int(reply[2]) === 1,
          version: int(reply[3]),
          expiresAt: optInt(reply[4]),
        };
    }
  }

  lock(ns: string, name: string, grant: LockGrant): Promise<LockAttempt> {
    return this.locks.lock(ns, name, grant);
  }

  unlock(ns: string, name: string, token: string): Promise<UnlockOutcome> {
    return this.locks.unlock(ns, name, token);
  }

  extendLock(ns: string, name: string, token: string, ttlMs: number): Promise<ExtendLockOutcome> {
    return this.locks.extendLock(ns, name, token, ttlMs);
  }

  checkLock(ns: string, name: string): Promise<LockHolder | undefined> {
    return this.locks.checkLock(ns, name);
  }

  listLocks(ns: string, pattern: string, cursor: string, limit: number): Promise<LocksPage> {
    return this.locks.listLocks(ns, pattern, cursor, limit);
  }

  watchLocks(ns: string, onRelease: (name: string) => void): Promise<() => void> {
    return this.locks.watch(ns, onRelease);
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping());
  }

  async close(): Promise<void> {
    this.subscriber.close();
    try {
      if (this.client.status === "ready") await withTimeout(this.client.quit(), this.timeoutMs);
    } catch {
      // Closing anyway: disconnect below drops whatever quit left behind.
    } finally {
      this.client.disconnect();
    }
  }

  /**
   * The namespace's segment, with a length so that no namespace name can be
   * a prefix of another's keys whatever characters it holds, inside one
   * Cluster hash tag so that all its keys share a slot and multi-key scripts
   * are legal.
   */
  private tag(ns: string): string {
    return `${this.prefix}:{${Buffer.byteLength(ns)}:${ns}}`;
  }

  private entryPrefix(ns: string): string {
    return `${this.tag(ns)}:e:`;
  }

  private entryKey(ns: string, key: string): string {
    return `${this.entryPrefix(ns)}${key}`;
  }

  /** The namespace's version sequence; it never expires. */
  private seqKey(ns: string): string {
    return `${this.tag(ns)}:seq`;
  }

  /** Runs one call against Redis, turning connection trouble into `unavailable`. */
  private async run<T>(send: () => Promise<T>): Promise<T> {
    // Once connected, a lost connection fails calls at once instead of
    // queueing them for later: a queued write would apply after its caller
    // was told it failed, and the queue would grow while Redis is down.
    if (this.everReady && this.client.status !== "ready") {
      throw new LarderError("unavailable", "backend unavailable: redis connection lost");
    }
    try {
      return await withTimeout(send(), this.timeoutMs);
    } catch (err) {
      throw toLarderError(err);
    }
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

function ttlArg(expiry: Expiry): string {
  return "ttlMs" in expiry ? String(expiry.ttlMs) : "";
}
