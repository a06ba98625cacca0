import { LarderError } from "../../core/errors.js";
import type { CommandState } from "../command-state.js";
import { globToRegExp } from "../glob.js";
import { createRedisCommandState } from "./command-state.js";
import { RedisConnection, type RedisConnectionOptions } from "./connection.js";
import { Durability, type WaitForReplicas } from "./durability.js";
import { decodeEntry, encodeValue, headerBytes, headerExpiry } from "./entries.js";
import { RedisKeys, type Placement } from "./keys.js";
import { lockScripts } from "./lock-scripts.js";
import { ReleaseSubscriber } from "./lock-watch.js";
import { RedisLocks, type LockScriptFns } from "./locks.js";
import { scanNamespaces } from "./namespaces.js";
import { scanMasters, scanPageArgs, keysScript } from "./scan.js";
import { bytes, evalOn, int, list, optInt, text, type Reply, type ScriptFn } from "./script.js";
import { scripts } from "./scripts.js";
import { Topology } from "./topology.js";
import type { Entry, Expiry, ExtendLockOutcome, ExtendOutcome, HasOutcome, IncrementOutcome, KeysPage, LockAttempt, LockGrant, LockHolder, LocksPage, NamespaceSample, SetInput, SetManyOutcome, SetOutcome, Store, UnlockOutcome, WriteInput } from "../store.js";

/** Options of {@link createRedisStore}: where Redis is (see RedisConnectionOptions), and how keys are laid out. */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /** First segment of every Redis key, so Larder can share a Redis. Must not contain `{` or `}`. Default `larder`. */
  keyPrefix?: string;
  /**
   * Namespaces whose keys share one Cluster slot, so that SetMany and
   * Delete are atomic across their keys (keys.ts). Default none: every
   * namespace spreads over the Cluster.
   */
  pinnedNamespaces?: readonly string[];
  /** The placement of the namespaces not listed in `pinnedNamespaces`. Default "spread". */
  defaultPlacement?: Placement;
  /**
   * Acknowledge a write only once this many replicas have it (WAIT; see
   * durability.ts). Default none: the master's word, as Redis does.
   */
  waitForReplicas?: WaitForReplicas;
  /**
   * Added to Redis' clock in RunCommand's state only. Default none. Tests
   * move the fallback state machine's clock with it instead of sleeping.
   */
  commandClockOffsetMs?: () => number;
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

/** The Redis backend; see {@link createRedisStore}. */
class RedisStore implements Store {
  readonly kind = "redis";
  readonly commandState: CommandState;
  private readonly conn: RedisConnection;
  private readonly scripts: ScriptFns;
  private readonly layout: RedisKeys;
  private readonly topology: Topology;
  private readonly subscriber: ReleaseSubscriber;
  private readonly locks: RedisLocks;
  private readonly durability: Durability;
  /** Where writes go: the same connection, or one of their own when they wait for replicas. */
  private readonly writer: { readonly conn: RedisConnection; readonly scripts: ScriptFns; readonly topology: Topology };

  constructor(options: RedisStoreOptions) {
    this.layout = new RedisKeys({
      ...(options.keyPrefix === undefined ? {} : { prefix: options.keyPrefix }),
      pinned: new Set(options.pinnedNamespaces ?? []),
      ...(options.defaultPlacement === undefined ? {} : { defaultPlacement: options.defaultPlacement }),
    });
    // Calls that take their key count first stay out of auto-pipelining:
    // in a Cluster, ioredis files an auto-pipelined call under the slot of
    // its first argument, which is then the count, not a key.
    const variadic = ["larderGetManyCross", "larderGetManyTracked", "larderSetMany", "larderDeleteCross"];
    const connect = (): { conn: RedisConnection; scripts: ScriptFns; topology: Topology } => {
      const conn = new RedisConnection(options, ["mget", ...variadic]);
      for (const [name, definition] of Object.entries({ ...scripts, ...lockScripts })) conn.client.defineCommand(name, definition);
      return { conn, scripts: conn.client as unknown as ScriptFns, topology: new Topology(conn.client) };
    };
    const reader = connect();
    this.conn = reader.conn;
    this.scripts = reader.scripts;
    this.topology = reader.topology;
    const client = this.conn.client;
    // WAIT holds the connection it is sent on until replicas answer, so
    // writes that wait for replicas get a connection of their own: reads do
    // not queue behind a WAIT while replicas lag or are gone.
    this.writer = options.waitForReplicas === undefined ? reader : connect();
    this.durability = new Durability(this.writer.conn, this.writer.topology, options.waitForReplicas);
    // duplicate() keeps the topology and options, so the subscriber follows
    // a Sentinel failover or Cluster like the main connection does.
    this.subscriber = new ReleaseSubscriber({ open: () => client.duplicate(), timeoutMs: this.conn.callTimeoutMs });
    const run = <T>(send: () => Promise<T>): Promise<T> => this.conn.run(send);
    const writes = this.writer;
    this.locks = new RedisLocks({
      scripts: writes.scripts,
      run: (send) => writes.conn.run(send),
      keys: this.layout,
      topology: this.topology,
      subscriber: this.subscriber,
      durability: this.durability,
    });
    this.commandState = createRedisCommandState({
      client,
      tag: (ns) => this.layout.namespaceTag(ns),
      run,
      ...(options.commandClockOffsetMs === undefined ? {} : { clockOffsetMs: options.commandClockOffsetMs }),
    });
  }

  async get(ns: string, key: string, touchTtlMs?: number, trackRead = false): Promise<Entry | undefined> {
    const name = this.layout.entryKey(ns, key);
    // A plain read is a GET: no script, and no write for Redis to log or replicate.
    if (touchTtlMs === undefined && !trackRead) return decodeEntry(await this.conn.run(() => this.conn.client.getBuffer(name)));
    const touch = touchTtlMs === undefined ? "" : String(touchTtlMs);
    const reply = await this.conn.run(() => this.scripts.larderGetWritingBuffer(name, touch, trackRead ? "1" : ""));
    if (reply === null) return undefined;
    const [header, stored] = list(reply);
    return decodeEntry(bytes(stored ?? null), bytes(header ?? null));
  }

  async getMany(ns: string, keys: readonly string[], trackRead = false): Promise<(Entry | undefined)[]> {
    const names = keys.map((key) => this.layout.entryKey(ns, key));
    const out = new Array<Entry | undefined>(names.length);
    await Promise.all(
      (await this.groups(ns, names)).map(async (group) => {
        const groupNames = group.map((i) => names[i] as string);
        if (trackRead) {
          const reply = list(await this.conn.run(() => this.scripts.larderGetManyTrackedBuffer(...this.keyArgs(ns, groupNames))));
          group.forEach((i, j) => {
            const stored = reply[2 * j] ?? null;
            out[i] = stored === null ? undefined : decodeEntry(bytes(stored), undefined, int(reply[2 * j + 1]));
          });
          return;
        }
        const reply = this.crossSlot(ns)
          ? list(await this.conn.run(() => this.scripts.larderGetManyCrossBuffer(...this.keyArgs(ns, groupNames))))
          : await this.conn.run(() => this.conn.client.mgetBuffer(...groupNames));
        group.forEach((i, j) => {
          out[i] = decodeEntry((reply[j] as Buffer | null | undefined) ?? null);
        });
      }),
    );
    return out;
  }

  async set(ns: string, input: SetInput): Promise<SetOutcome> {
    const c = input.condition;
    const mode = c.mode === "ifAbsent" ? "absent" : c.mode === "ifPresent" ? "present" : c.mode === "ifVersion" ? "version" : "always";
    const [value, kind] = encodeValue(input.value);
    const key = this.layout.entryKey(ns, input.key);
    const args = [value, kind, ttlArg(input.expiry), mode, c.mode === "ifVersion" ? String(c.version) : ""];
    const g = input.guard;
    let reply: Reply;
    if (g === undefined) {
      reply = await this.writer.conn.run(() => this.writer.scripts.larderSet(key, ...args));
    } else {
      const lockKey = this.layout.lockKey(ns, g.name);
      const minFencing = String(g.minFencingToken);
      if (!this.crossSlot(ns)) {
        reply = await this.writer.conn.run(() => this.writer.scripts.larderGuardedSet(key, lockKey, ...args, g.token, minFencing));
      } else {
        // Lock and entry may live on different masters: the lock's node
        // vouches for the grant and its expiry, and the entry's node writes
        // only before that expiry by its own clock. An expiry of 0 makes the
        // write fail there, answering the entry's current version.
        const expiry = await this.writer.conn.run(() => this.writer.scripts.larderLockGuard(lockKey, g.token, minFencing));
        const until = expiry === null ? "0" : String(int(expiry));
        reply = await this.writer.conn.run(() => this.writer.scripts.larderSetBeforeExpiry(key, ...args, until));
      }
    }
    const r = list(reply);
    const applied = int(r[0]) === 1;
    if (applied) await this.durability.confirm([key]);
    return { applied, created: int(r[1]) === 1, version: int(r[2]), expiresAt: optInt(r[3]) };
  }

  async setMany(ns: string, inputs: readonly WriteInput[]): Promise<SetManyOutcome[]> {
    const names = inputs.map((input) => this.layout.entryKey(ns, input.key));
    const out = new Array<SetManyOutcome>(inputs.length);
    await Promise.all(
      (await this.groups(ns, names)).map(async (group) => {
        const args: (string | Buffer)[] = [];
        for (const i of group) {
          const input = inputs[i] as WriteInput;
          const [value, kind] = encodeValue(input.value);
          args.push(value, kind, ttlArg(input.expiry));
        }
        const keyArgs = this.keyArgs(ns, group.map((i) => names[i] as string));
        const reply = list(await this.writer.conn.run(() => this.writer.scripts.larderSetMany(...keyArgs, ...args)));
        group.forEach((i, j) => {
          out[i] = { created: int(reply[2 * j]) === 1, version: int(reply[2 * j + 1]) };
        });
      }),
    );
    await this.durability.confirm(names);
    return out;
  }

  async has(ns: string, key: string): Promise<HasOutcome> {
    const name = this.layout.entryKey(ns, key);
    const header = await this.conn.run(() => this.conn.client.getrangeBuffer(name, 0, headerBytes - 1));
    return header.length === 0 ? { found: false } : { found: true, expiresAt: headerExpiry(header) };
  }

  async delete(ns: string, keys: readonly string[]): Promise<number> {
    const names = keys.map((key) => this.layout.entryKey(ns, key));
    const counts = await Promise.all(
      (await this.groups(ns, names)).map((group) => {
        const groupNames = group.map((i) => names[i] as string);
        return this.crossSlot(ns)
          ? this.writer.conn.run(() => this.writer.scripts.larderDeleteCross(...this.keyArgs(ns, groupNames)))
          : this.writer.conn.run(() => this.writer.conn.client.del(...groupNames));
      }),
    );
    await this.durability.confirm(names);
    return counts.reduce<number>((sum, n) => sum + int(n as Reply), 0);
  }

  async extend(ns: string, key: string, addMs: number, maxTtlMs: number): Promise<ExtendOutcome> {
    const entry = this.layout.entryKey(ns, key);
    const reply = list(await this.writer.conn.run(() => this.writer.scripts.larderExtend(entry, String(addMs), String(maxTtlMs))));
    switch (int(reply[0])) {
      case 0:
        return { status: "missing" };
      case 2:
        return { status: "exceedsMax", remainingMs: int(reply[1]) };
      default:
        await this.durability.confirm([entry]);
        return { status: "extended", expiresAt: optInt(reply[1]) };
    }
  }

  async keys(ns: string, pattern: string, cursor: string, limit: number): Promise<KeysPage> {
    const prefix = this.layout.entryPrefix(ns);
    const page = await this.conn.run(async () =>
      scanMasters(await this.topology.masters(), cursor, limit, async (node, inner, room) => {
        const reply = list(await evalOn(node, keysScript, scanPageArgs(prefix, pattern, inner, room)));
        const found = list(reply[1] ?? null);
        return { next: text(reply[0] ?? null), found, count: found.length };
      }),
    );
    // MATCH works on bytes and was only a superset of the glob (see
    // matchSuperset); this filter applies the glob by code point.
    const matcher = globToRegExp(pattern);
    const prefixBytes = Buffer.byteLength(prefix);
    const keys = new Set<string>();
    for (const name of page.found) {
      const key = bytes(name).subarray(prefixBytes).toString("utf8");
      if (matcher.test(key)) keys.add(key);
    }
    return { keys: [...keys], nextCursor: page.next };
  }

  async increment(ns: string, key: string, delta: bigint, expiry: Expiry): Promise<IncrementOutcome> {
    if (delta < int64Min || delta > int64Max) {
      throw new LarderError("outOfRange", "delta: the result would overflow a 64-bit integer");
    }
    const entry = this.layout.entryKey(ns, key);
    const reply = list(await this.writer.conn.run(() => this.writer.scripts.larderIncrement(entry, delta.toString(), ttlArg(expiry))));
    switch (int(reply[0])) {
      case 1:
        throw new LarderError("failedPrecondition", "key: the stored value is not an integer");
      case 2:
        throw new LarderError("outOfRange", "delta: the result would overflow a 64-bit integer");
      default:
        await this.durability.confirm([entry]);
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

  async sampleNamespaces(maxScan: number): Promise<NamespaceSample> {
    const masters = await this.conn.run(() => this.topology.masters());
    return this.conn.run(() => scanNamespaces(masters.nodes, this.layout.prefixOf(), maxScan));
  }

  async ping(): Promise<void> {
    await this.conn.run(() => this.conn.client.ping());
  }

  async close(): Promise<void> {
    this.subscriber.close();
    await this.conn.close();
    if (this.writer.conn !== this.conn) await this.writer.conn.close();
  }

  /** Whether the namespace's keys may sit on different slots of a Cluster. */
  private crossSlot(ns: string): boolean {
    return this.topology.isCluster && this.layout.placement(ns) === "spread";
  }

  /** The indexes of `names` by the node a call for them goes to: one group unless spread over a Cluster. */
  private async groups(ns: string, names: readonly string[]): Promise<number[][]> {
    if (names.length === 0) return [];
    if (!this.crossSlot(ns)) return [names.map((_, i) => i)];
    await this.conn.run(() => this.topology.ready());
    return this.topology.groupByNode(names);
  }

  /**
   * A multi-key script's leading arguments (scripts.ts): every key in KEYS,
   * or, across slots, the first in KEYS (it routes the call) and the rest
   * in ARGV after their count.
   */
  private keyArgs(ns: string, names: readonly string[]): (string | number)[] {
    if (this.crossSlot(ns)) return [1, names[0] as string, String(names.length - 1), ...names.slice(1)];
    return [names.length, ...names, "0"];
  }
}

function ttlArg(expiry: Expiry): string {
  return "ttlMs" in expiry ? String(expiry.ttlMs) : "";
}
