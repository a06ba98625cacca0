/**
 * Where every Redis key of the store is built: entries, locks, and the
 * namespace's own keys (RunCommand state, the lock release channel).
 *
 * A namespace's segment is `<length>:<namespace>`: the byte length first,
 * so that no namespace name can be a prefix of another's keys, whatever
 * characters either holds. How the segment sits decides placement in a
 * Redis Cluster:
 *
 * - **spread** (the default): `<prefix>:{}:<len>:<ns>:e:<key>`. The empty
 *   hash tag `{}` comes first, and Redis (like ioredis) then hashes the whole
 *   name, so a namespace's keys spread over every slot and every master, and
 *   braces in a namespace or key can never choose a slot.
 * - **pinned**: `<prefix>:{<len>:<ns>}:e:<key>`. The namespace is the hash
 *   tag, so all its keys share one slot: SetMany and Delete are atomic
 *   across keys, at the price of one master's memory and CPU.
 *
 * Outside a Cluster (standalone, Sentinel) both layouts live on one node and
 * every multi-key step is atomic either way.
 */

/** How a namespace's keys are placed over a Redis Cluster's slots. */
export type Placement = "spread" | "pinned";

/** Options of {@link RedisKeys}. */
export interface RedisKeysOptions {
  /** First segment of every key. Must not contain `{` or `}`. Default `larder`. */
  readonly prefix?: string;
  /** The namespaces placed in one slot. Default none. */
  readonly pinned?: ReadonlySet<string>;
  /** The placement of every other namespace. Default "spread". */
  readonly defaultPlacement?: Placement;
}

/** Builds the Redis keys of the store. */
export class RedisKeys {
  private readonly prefix: string;
  private readonly pinned: ReadonlySet<string>;
  private readonly pinAll: boolean;

  /** @param options the prefix and the pinned namespaces. */
  constructor(options: RedisKeysOptions = {}) {
    this.prefix = options.prefix ?? "larder";
    // A brace in the prefix would become the hash tag, or end ours early,
    // and move every key's slot.
    if (/[{}]/.test(this.prefix)) throw new Error("redis keyPrefix must not contain { or }");
    this.pinned = options.pinned ?? new Set();
    this.pinAll = options.defaultPlacement === "pinned";
  }

  /** The first segment of every key. */
  prefixOf(): string {
    return this.prefix;
  }

  /** How the namespace's keys are placed. */
  placement(ns: string): Placement {
    return this.pinAll || this.pinned.has(ns) ? "pinned" : "spread";
  }

  /** The namespace's own segment, in one slot whatever its placement (RunCommand state, channels). */
  namespaceTag(ns: string): string {
    return `${this.prefix}:{${segment(ns)}}`;
  }

  /** What every entry key of the namespace starts with (Keys scans it). */
  entryPrefix(ns: string): string {
    return `${this.base(ns)}:e:`;
  }

  /** The key of one entry. */
  entryKey(ns: string, key: string): string {
    return `${this.base(ns)}:e:${key}`;
  }

  /** What every lock key of the namespace starts with (ListLocks scans it). */
  lockPrefix(ns: string): string {
    return `${this.base(ns)}:l:`;
  }

  /** The key of one lock; it shares its entries' placement. */
  lockKey(ns: string, name: string): string {
    return `${this.base(ns)}:l:${name}`;
  }

  /** The channel that announces the namespace's lock releases. */
  releaseChannel(ns: string): string {
    return `${this.namespaceTag(ns)}:lr`;
  }

  private base(ns: string): string {
    return this.placement(ns) === "pinned" ? this.namespaceTag(ns) : `${this.prefix}:{}:${segment(ns)}`;
  }
}

function segment(ns: string): string {
  return `${Buffer.byteLength(ns)}:${ns}`;
}
