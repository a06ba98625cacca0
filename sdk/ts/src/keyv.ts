/**
 * `@larder/sdk/keyv`: a Keyv storage adapter over Larder, so that Keyv and
 * what builds on it (cache-manager, cacheable) can use a Larder server.
 *
 * ```ts
 * import Keyv from "keyv";
 * import { createKeyvStore } from "@larder/sdk/keyv";
 *
 * const keyv = new Keyv({ store: createKeyvStore({ url: "http://localhost:8080" }), namespace: "users" });
 * await keyv.set("1", { name: "Alice" }, 60_000); // TTL in milliseconds, as always in Keyv
 * ```
 *
 * keyv is an optional peer dependency of `@larder/sdk`: only this entry
 * needs it, and it only imports its types.
 *
 * @packageDocumentation
 */

import { EventEmitter } from "node:events";
import type { KeyvStorageAdapter, KeyvStorageCapability, KeyvStorageEntry, KeyvStorageGetResult } from "keyv";
import type { Cache, SetManyEntry } from "./cache.js";
import { createCache } from "./create-cache.js";
import { escapeGlob, fromLarder, toLarder, ttlMsOf, type KeyvValueFormat } from "./keyv-values.js";
import type { CacheOptions } from "./options.js";

export type { KeyvValueFormat } from "./keyv-values.js";

/** Options of {@link createKeyvStore}: those of `createCache`, and two of its own. */
export interface KeyvStoreOptions extends CacheOptions {
  /**
   * What Larder stores. `"keyv"` (default) fits Keyv's defaults: Keyv
   * serializes each value with its expiry into a string, which Larder stores
   * as a JSON string. `"json"` stores the value itself as JSON, readable by
   * every Larder SDK; it needs `new Keyv({ store, serialization: false })`.
   */
  valueFormat?: KeyvValueFormat;
  /**
   * What separates Keyv's namespace from the key in the Larder key:
   * namespace `"users"` and key `"1"` become `"users:1"`. Default `":"`.
   * Without a Keyv namespace the key is used as is.
   */
  namespaceSeparator?: string;
}

/** The defaults of {@link KeyvStoreOptions}' own options. */
export const defaultKeyvStoreOptions = {
  valueFormat: "keyv",
  namespaceSeparator: ":",
} as const;

/**
 * Creates a Keyv storage adapter for a Larder server: pass it as Keyv's
 * `store`. It opens its own connection (lazily, on the first call) and closes
 * it on `keyv.disconnect()`.
 *
 * TTLs keep Keyv's millisecond precision and are enforced by Larder; a value
 * set without a TTL never expires (if the Larder namespace's policy forbids
 * that, give Keyv a `ttl`). `clear()` deletes the keys of the Keyv namespace,
 * or every key of the Larder namespace when Keyv has none.
 *
 * @param options the server and namespace, as for `createCache`, and how to
 * store values.
 */
export function createKeyvStore(options: KeyvStoreOptions): LarderKeyvStore {
  const { valueFormat, namespaceSeparator, ...cacheOptions } = options;
  return new LarderKeyvStore(createCache(cacheOptions), {
    url: options.url,
    valueFormat: valueFormat ?? defaultKeyvStoreOptions.valueFormat,
    namespaceSeparator: namespaceSeparator ?? defaultKeyvStoreOptions.namespaceSeparator,
  });
}

/** Settings of a {@link LarderKeyvStore}, with defaults applied. */
interface StoreSettings {
  readonly url: string;
  readonly valueFormat: KeyvValueFormat;
  readonly namespaceSeparator: string;
}

/**
 * The Keyv storage adapter that {@link createKeyvStore} returns. It follows
 * keyv 6's storage contract: Keyv passes keys without its namespace (the
 * adapter prefixes them) and absolute expiry timestamps.
 */
export class LarderKeyvStore extends EventEmitter implements KeyvStorageAdapter {
  /** Keyv's namespace, set by Keyv; keys are prefixed with it. */
  namespace: string | undefined;
  /**
   * Describes the backend, as Keyv adapters do (`dialect`, `url`); tools and
   * test suites read and extend it. Holds no credentials.
   */
  readonly opts: { dialect: "larder"; url: string; [option: string]: unknown };
  private readonly cache: Cache;
  private readonly valueFormat: KeyvValueFormat;
  private readonly separator: string;

  /**
   * Use {@link createKeyvStore}.
   *
   * @param cache the Larder client; closed by {@link disconnect}.
   * @param settings the resolved options.
   */
  constructor(cache: Cache, settings: StoreSettings) {
    super();
    this.cache = cache;
    this.valueFormat = settings.valueFormat;
    this.separator = settings.namespaceSeparator;
    this.opts = { dialect: "larder", url: settings.url };
  }

  /**
   * Declares keyv 6's storage contract (absolute `expires` on set), so that
   * Keyv uses this adapter directly instead of bridging it as a legacy one.
   */
  get capabilities(): KeyvStorageCapability {
    const method = { exists: true, methodType: "async" } as const;
    return {
      compatible: true,
      store: "keyvStorage",
      expires: true,
      methods: {
        get: method, getMany: method, has: method, hasMany: method, set: method, setMany: method,
        delete: method, deleteMany: method, clear: method, disconnect: method, iterator: method,
      },
    };
  }

  /**
   * The listeners of an event. Only narrows the type: Keyv's event-emitter
   * type wants callable listeners where Node's says `Function`.
   */
  override listeners(eventName: string | symbol): Array<(...args: unknown[]) => void> {
    return super.listeners(eventName) as Array<(...args: unknown[]) => void>;
  }

  /** The listeners of an event, wrappers included; narrowed like {@link listeners}. */
  override rawListeners(eventName: string | symbol): Array<(...args: unknown[]) => void> {
    return super.rawListeners(eventName) as Array<(...args: unknown[]) => void>;
  }

  /** Reads a value: Keyv's serialized text, or an envelope; undefined on a miss. */
  async get<Value>(key: string): Promise<KeyvStorageGetResult<Value>> {
    const entry = await this.cache.getEntry(this.larderKey(key));
    return entry === null ? undefined : (fromLarder(this.valueFormat, entry.value) as KeyvStorageGetResult<Value>);
  }

  /** Reads many values in one round trip per 1000 keys, in the order asked. */
  async getMany<Value>(keys: string[]): Promise<Array<KeyvStorageGetResult<Value | undefined>>> {
    const larderKeys = keys.map((k) => this.larderKey(k));
    const found = await this.cache.getMany(larderKeys);
    return Promise.all(
      larderKeys.map(async (k) => {
        const value = found.get(k) ?? null;
        // getMany answers null both for a miss and for a stored JSON null;
        // only the "json" format stores bare nulls, so only it must ask.
        if (value === null && (this.valueFormat === "keyv" || !(await this.cache.has(k)))) return undefined;
        return fromLarder(this.valueFormat, value) as KeyvStorageGetResult<Value>;
      }),
    );
  }

  /** Whether the key exists (and has not expired). */
  has(key: string): Promise<boolean> {
    return this.cache.has(this.larderKey(key));
  }

  /** Whether each key exists, in the order asked. */
  hasMany(keys: string[]): Promise<boolean[]> {
    return Promise.all(keys.map((k) => this.has(k)));
  }

  /**
   * Writes a value; `expires` is keyv 6's absolute expiry in epoch
   * milliseconds (a relative TTL from keyv 5 also works). A time already
   * past deletes the key.
   */
  async set(key: string, value: unknown, expires?: number): Promise<boolean> {
    const larderKey = this.larderKey(key);
    const stored = toLarder(this.valueFormat, key, value);
    const ttlMs = ttlMsOf(expires);
    if (ttlMs !== undefined && ttlMs <= 0) {
      await this.cache.delete(larderKey);
      return true;
    }
    return this.cache.set(larderKey, stored, ttlMs === undefined ? { noExpiry: true } : { ttl: ttlMs / 1000 });
  }

  /**
   * Writes many values. Those with an expiry go in one atomic SetMany per
   * 1000; those without one are separate writes, since a SetMany entry
   * without a TTL would get the namespace default instead of no expiry.
   */
  async setMany<Value>(entries: KeyvStorageEntry<Value>[]): Promise<boolean[]> {
    const batch: SetManyEntry[] = [];
    const others: Promise<unknown>[] = [];
    for (const e of entries) {
      const ttlMs = ttlMsOf(e.expires);
      if (ttlMs === undefined || ttlMs <= 0) {
        others.push(this.set(e.key, e.value, e.expires));
      } else {
        batch.push({ key: this.larderKey(e.key), value: toLarder(this.valueFormat, e.key, e.value), ttl: ttlMs / 1000 });
      }
    }
    await Promise.all([batch.length > 0 ? this.cache.setMany(batch) : undefined, ...others]);
    return entries.map(() => true);
  }

  /** Deletes a key; true if it existed. */
  delete(key: string): Promise<boolean> {
    return this.cache.delete(this.larderKey(key));
  }

  /**
   * Deletes keys; for each, whether it existed. One Delete per key, because
   * a batch Delete reports only how many existed, not which.
   */
  deleteMany(keys: string[]): Promise<boolean[]> {
    return Promise.all(keys.map((k) => this.delete(k)));
  }

  /**
   * Deletes every key of Keyv's namespace (every key of the Larder namespace
   * without one): lists them page by page, then deletes them in batches.
   * The listing is complete before the first delete, so that deleting does
   * not disturb the paging.
   */
  async clear(): Promise<void> {
    const keys = await this.cache.keys(this.keyPattern());
    if (keys.length > 0) await this.cache.deleteMany(keys);
  }

  /**
   * Iterates over the Keyv namespace's entries as `[key, value]` pairs, keys
   * without the namespace prefix, one GetMany per page of keys. Keys deleted
   * or expired between the listing and the read are left out.
   */
  async *iterator<Value>(): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const prefix = this.prefix();
    let page: string[] = [];
    const flush = async function* (this: LarderKeyvStore, keys: string[]) {
      const values = await this.getMany<Value>(keys.map((k) => k.slice(prefix.length)));
      for (const [i, value] of values.entries()) {
        const key = keys[i];
        if (value !== undefined && key !== undefined) yield [key.slice(prefix.length), value as Awaited<Value>];
      }
    };
    for await (const key of this.cache.iterateKeys(this.keyPattern(), { pageSize: iteratorPageSize })) {
      page.push(key);
      if (page.length === iteratorPageSize) {
        yield* flush.call(this, page);
        page = [];
      }
    }
    if (page.length > 0) yield* flush.call(this, page);
  }

  /** Closes the connection; the store cannot be used afterwards. */
  disconnect(): Promise<void> {
    return this.cache.close();
  }

  /** The Larder key of a Keyv key. */
  private larderKey(key: string): string {
    return this.prefix() + key;
  }

  /** The namespace prefix of Larder keys; empty without a namespace. */
  private prefix(): string {
    return this.namespace === undefined || this.namespace === "" ? "" : this.namespace + this.separator;
  }

  /** The Keys pattern that matches exactly this namespace's keys. */
  private keyPattern(): string {
    return `${escapeGlob(this.prefix())}*`;
  }
}

/** Keys per page of {@link LarderKeyvStore.iterator}: a page is one Keys and one GetMany. */
const iteratorPageSize = 100;
