import { Code, createClient, type CallOptions, type Client } from "@connectrpc/connect";
import { CacheService, SetMode } from "../gen/larder/v1/cache_pb.js";
import { batchConcurrency, mapChunks, maxBatchSize } from "./batching.js";
import { commandEvents, runCommand, type CommandEvent, type CommandResult, type RunCommandOptions } from "./commands.js";
import type { Cache, GetOptions, GetOrComputeOptions, IterateKeysOptions, SetManyEntry, SetOptions } from "./cache.js";
import { invalidArgument, LarderError } from "./errors.js";
import { GetOrCompute, type Lookup } from "./get-or-compute.js";
import { LockNotAcquiredError, Locks, type LockHandle, type LockInfo, type LockOptions } from "./lock.js";
import { LockMissPolicy } from "./lock-miss-policy.js";
import { resolveOptions, type CacheOptions } from "./options.js";
import { defaultBackoff, withRetry, type Idempotency, type RetryPolicy } from "./retry.js";
import { openTransport, type OwnedTransport } from "./transport.js";
import {
  decodeEntry,
  decodeValue,
  encodeValue,
  expiryOf,
  secondsToMs,
  type CacheEntry,
  type EncodedValue,
} from "./values.js";

/**
 * Creates a cache client for a Larder server.
 *
 * ```ts
 * const cache = createCache({ url: "http://localhost:8080", namespace: "orders" });
 * await cache.set("greeting", "Hello!", 60);
 * const greeting = await cache.get<string>("greeting");
 * ```
 *
 * No connection is made until the first call.
 *
 * @param options where the server is and how to talk to it.
 */
export function createCache(options: CacheOptions): Cache {
  return new LarderCache(options);
}

type CacheClient = Client<typeof CacheService>;

/** The {@link Cache} implementation over the generated CacheService client. */
class LarderCache implements Cache {
  private readonly client: CacheClient;
  private readonly owned: OwnedTransport;
  private readonly callOptions: CallOptions;
  private readonly retry: RetryPolicy;
  private readonly compute: GetOrCompute;
  private readonly locks: Locks;
  private closed = false;

  constructor(options: CacheOptions) {
    const resolved = resolveOptions(options);
    this.owned = openTransport(resolved);
    this.client = createClient(CacheService, this.owned.transport);
    this.callOptions = { timeoutMs: resolved.timeoutMs, headers: resolved.headers };
    this.retry = { retries: resolved.retries, ...defaultBackoff };
    this.locks = new Locks((idempotency, rpc, extraMs) => this.call(idempotency, rpc, extraMs));
    this.compute = new GetOrCompute({
      read: (key, touch) => this.lookup(key, touch),
      store: async (key, value, ttl) => {
        const encoded = encodeValue("getValue()", value);
        await this.write(key, encoded, ttl === undefined ? {} : { ttl });
        // Hand back what a later hit would return, so callers never see
        // e.g. a Date on the miss path and an ISO string on the hit path.
        return decodeValue(encoded);
      },
    }, new LockMissPolicy(this.locks));
  }

  async set<T>(key: string, value: T, ttl?: number | SetOptions): Promise<boolean> {
    checkKey(key);
    return this.write(key, encodeValue("value", value), setOptionsOf(ttl));
  }

  get<T>(key: string, options: GetOrComputeOptions<T>): Promise<T>;
  get<T = unknown>(key: string, options?: GetOptions): Promise<T | null>;
  async get<T>(key: string, options?: GetOptions | GetOrComputeOptions<T>): Promise<T | null> {
    checkKey(key);
    if (options !== undefined && "getValue" in options) {
      if (typeof options.getValue !== "function") throw invalidArgument("getValue", "must be a function");
      const { getValue, ttl, touch, lockWait } = options;
      return this.compute.run(key, { getValue, ttl, touch, lockWait });
    }
    const hit = await this.lookup<T>(key, options?.touch);
    return hit.found ? hit.value : null;
  }

  async getEntry<T = unknown>(key: string, options?: GetOptions): Promise<CacheEntry<T> | null> {
    checkKey(key);
    const res = await this.call("idempotent", (c, o) => c.get(getRequest(key, options?.touch), o));
    return res.found ? decodeEntry<T>(res.value, res.metadata) : null;
  }

  async has(key: string): Promise<boolean> {
    checkKey(key);
    const res = await this.call("idempotent", (c, o) => c.has({ key }, o));
    return res.found;
  }

  async delete(key: string | readonly string[]): Promise<boolean> {
    if (typeof key === "string") {
      const res = await this.call("idempotent", (c, o) => c.delete({ keys: [key] }, o));
      return res.deleted > 0n;
    }
    return (await this.deleteMany(key)) > 0;
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    keys.forEach(checkKey);
    // Deleting twice leaves the same state, so retries are safe; only the
    // reported count can be lower if a retried batch had already applied.
    const counts = await mapChunks(keys, maxBatchSize, batchConcurrency, async (chunk) => {
      const res = await this.call("idempotent", (c, o) => c.delete({ keys: [...chunk] }, o));
      return Number(res.deleted);
    });
    return counts.reduce((a, b) => a + b, 0);
  }

  async extend(key: string, seconds: number): Promise<boolean> {
    checkKey(key);
    const addMs = secondsToMs("seconds", seconds);
    const res = await this.call("once", (c, o) => c.extend({ key, addMs }, o));
    return res.found;
  }

  async keys(pattern?: string): Promise<string[]> {
    // A Set because the listing guarantees "at least once", not "once".
    const seen = new Set<string>();
    for await (const key of this.iterateKeys(pattern, { pageSize: maxBatchSize })) seen.add(key);
    return [...seen];
  }

  async *iterateKeys(pattern = "", options: IterateKeysOptions = {}): AsyncIterable<string> {
    if (typeof pattern !== "string") throw invalidArgument("pattern", `must be a string, got ${typeof pattern}`);
    // 0 asks for the server's default page size.
    const limit = options.pageSize ?? 0;
    if (options.pageSize !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw invalidArgument("pageSize", `must be a positive integer, got ${String(options.pageSize)}`);
    }
    let cursor = "";
    do {
      const page = await this.call("idempotent", (c, o) => c.keys({ pattern, cursor, limit }, o));
      yield* page.keys;
      cursor = page.nextCursor;
    } while (cursor !== "");
  }

  async getMany<T = unknown>(keys: readonly string[]): Promise<Map<string, T | null>> {
    keys.forEach(checkKey);
    const pages = await mapChunks(keys, maxBatchSize, batchConcurrency, async (chunk) => {
      const res = await this.call("idempotent", (c, o) => c.getMany({ keys: [...chunk] }, o));
      return res.items;
    });
    const out = new Map<string, T | null>();
    // Filled from the request rather than from the items' keys, so that the
    // order is the caller's even if a server echoed keys differently.
    let i = 0;
    for (const items of pages) {
      for (const item of items) {
        const key = keys[i++] ?? item.key;
        out.set(key, item.found ? decodeValue<T>(item.value) : null);
      }
    }
    return out;
  }

  async setMany(entries: readonly SetManyEntry[]): Promise<void> {
    const encoded = entries.map((e, i) => {
      checkKey(e.key);
      return {
        key: e.key,
        value: encodeValue(`entries[${i}].value`, e.value),
        expiry: expiryOf(`entries[${i}].ttl`, e.ttl, undefined),
      };
    });
    await mapChunks(encoded, maxBatchSize, batchConcurrency, async (chunk) => {
      await this.call("idempotent", (c, o) => c.setMany({ entries: [...chunk] }, o));
    });
  }

  async increment(key: string, delta = 1, ttl?: number): Promise<number> {
    checkKey(key);
    if (!Number.isSafeInteger(delta)) throw invalidArgument("delta", `must be an integer, got ${String(delta)}`);
    const request = { key, delta: BigInt(delta), expiry: expiryOf("ttl", ttl, undefined) };
    const res = await this.call("once", (c, o) => c.increment(request, o));
    return Number(res.value);
  }

  async lock(name: string, options?: LockOptions): Promise<LockHandle> {
    const got = await this.locks.acquire(name, options);
    if (!got.acquired) throw new LockNotAcquiredError(name, got.holder);
    return got;
  }

  async tryLock(name: string, options?: LockOptions): Promise<LockHandle | null> {
    const got = await this.locks.acquire(name, options);
    return got.acquired ? got : null;
  }

  checkLock(name: string, wait?: number): Promise<boolean> {
    return this.locks.check(name, wait);
  }

  listLocks(pattern?: string): Promise<LockInfo[]> {
    return this.locks.list(pattern);
  }

  runCommand<T = unknown>(name: string, options?: RunCommandOptions): Promise<CommandResult<T>> {
    return runCommand<T>((i, rpc) => this.call(i, rpc), name, options);
  }

  commandEvents(command?: string): Promise<CommandEvent[]> {
    return commandEvents((i, rpc) => this.call(i, rpc), command);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.owned.close();
    }
    return Promise.resolve();
  }

  /** One Set of an already encoded value; retried only when unconditional. */
  private async write(key: string, value: EncodedValue, opts: SetOptions): Promise<boolean> {
    const { mode, ifVersion } = setMode(opts);
    const lockGuard = opts.lock === undefined ? undefined : { name: opts.lock.name, token: opts.lock.token };
    const request = { key, value, expiry: expiryOf("ttl", opts.ttl, opts.noExpiry), mode, ifVersion, lockGuard };
    // A guarded write is a conditional one: a retry after a lost answer
    // could report "not applied" for a write that happened.
    const idempotency: Idempotency = mode === SetMode.ALWAYS && lockGuard === undefined ? "idempotent" : "once";
    const res = await this.call(idempotency, (c, o) => c.set(request, o));
    return res.applied;
  }

  /** One read as a {@link Lookup}, shared by get and get-or-compute. */
  private async lookup<T>(key: string, touch?: number): Promise<Lookup<T>> {
    const res = await this.call("idempotent", (c, o) => c.get(getRequest(key, touch), o));
    return res.found ? { found: true, value: decodeValue<T>(res.value) } : { found: false };
  }

  /**
   * Runs one RPC with the deadline, headers and retry policy of this cache.
   * `extraMs` lengthens the deadline by a wait the server is asked to do.
   */
  private call<R>(
    idempotency: Idempotency,
    rpc: (client: CacheClient, options: CallOptions) => Promise<R>,
    extraMs = 0,
  ): Promise<R> {
    if (this.closed) {
      return Promise.reject(new LarderError(Code.FailedPrecondition, "cache: closed; create a new one"));
    }
    const options = extraMs > 0 ? { ...this.callOptions, timeoutMs: (this.callOptions.timeoutMs ?? 0) + extraMs } : this.callOptions;
    return withRetry(() => rpc(this.client, options), idempotency, this.retry);
  }
}

/** A GetRequest, with sliding expiry when `touch` is given. */
function getRequest(key: string, touch: number | undefined): { key: string; touchTtlMs?: bigint } {
  return touch === undefined ? { key } : { key, touchTtlMs: secondsToMs("touch", touch) };
}

/**
 * Rejects non-string keys before they reach protobuf, whose own error would
 * not name the argument. Everything else about keys (empty, too long) is the
 * server's to judge, so that its configured limits apply.
 */
function checkKey(key: unknown): void {
  if (typeof key !== "string") throw invalidArgument("key", `must be a string, got ${typeof key}`);
}

/**
 * Normalizes set's third argument. Anything that is not an options object
 * is treated as a TTL so that a wrong type (say "60" from untyped code) is
 * rejected by the TTL check instead of silently meaning "default TTL".
 */
function setOptionsOf(ttl: number | SetOptions | undefined | null): SetOptions {
  if (ttl === undefined || ttl === null) return {};
  return typeof ttl === "object" ? ttl : { ttl };
}

/** The wire mode of a set, rejecting contradictory conditions. */
function setMode(opts: SetOptions): { mode: SetMode; ifVersion: bigint } {
  const conditions = [opts.onlyIfAbsent === true, opts.onlyIfPresent === true, opts.ifVersion !== undefined];
  if (conditions.filter(Boolean).length > 1) {
    throw invalidArgument("options", "give at most one of onlyIfAbsent, onlyIfPresent and ifVersion");
  }
  if (opts.onlyIfAbsent === true) return { mode: SetMode.IF_ABSENT, ifVersion: 0n };
  if (opts.onlyIfPresent === true) return { mode: SetMode.IF_PRESENT, ifVersion: 0n };
  if (opts.ifVersion !== undefined) {
    if (!Number.isSafeInteger(opts.ifVersion) || opts.ifVersion <= 0) {
      throw invalidArgument("ifVersion", `must be a positive integer, got ${String(opts.ifVersion)}`);
    }
    return { mode: SetMode.IF_VERSION, ifVersion: BigInt(opts.ifVersion) };
  }
  return { mode: SetMode.ALWAYS, ifVersion: 0n };
}
