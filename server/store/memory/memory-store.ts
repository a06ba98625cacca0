import { LarderError } from "../../core/errors.js";
import type { CommandState } from "../command-state.js";
import { globToRegExp } from "../glob.js";
import { createMemoryCommandState } from "./command-state.js";
import { MemoryLocks, parsePositionCursor } from "./locks.js";
import { isExpired, own, sizeOf, toEntry, type Namespace, type Slot } from "./slot.js";
import type { Entry, Expiry, ExtendLockOutcome, ExtendOutcome, HasOutcome, IncrementOutcome, KeysPage, LockAttempt, LockGrant, LockHolder, LocksPage, NamespaceSample, SetInput, SetManyOutcome, SetOutcome, Store, StoredValue, UnlockOutcome, WriteInput } from "../store.js";

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries kept across all namespaces before LRU eviction. Default 100 000. */
  maxEntries?: number;
  /** Most bytes (keys plus values, roughly) kept before LRU eviction. Default 256 MiB. */
  maxBytes?: number;
  /** How often expired entries are swept in the background, in ms. Default 1000. */
  sweepIntervalMs?: number;
  /** The clock, in ms since the epoch. Default `Date.now`; tests inject their own. */
  now?: () => number;
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
const integerJson = /^-?(?:0|[1-9][0-9]*)$/;
/** How many entries one background sweep looks at, so a tick stays short. */
const sweepBudget = 10_000;

/**
 * Creates the embedded store: zero set-up, one process, lost on restart, with
 * the same semantics as Redis (TTLs included) and bounded by LRU eviction.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  return new MemoryStore(options);
}

class MemoryStore implements Store {
  readonly kind = "memory";
  readonly commandState: CommandState;
  private readonly namespaces = new Map<string, Namespace>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  private readonly locks: MemoryLocks;
  private sweepCursor: Iterator<Slot> | undefined;
  private head: Slot | undefined;
  private tail: Slot | undefined;
  private count = 0;
  private bytes = 0;

  constructor(options: MemoryStoreOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.locks = new MemoryLocks(this.now);
    this.commandState = createMemoryCommandState(this.now);
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 1000);
    this.sweeper.unref();
  }

  get(ns: string, key: string, touchTtlMs?: number, trackRead = false): Promise<Entry | undefined> {
    const now = this.now();
    const slot = this.live(ns, key, now);
    if (slot === undefined) return Promise.resolve(undefined);
    this.read(slot, now, trackRead);
    if (touchTtlMs !== undefined) slot.expiresAt = now + touchTtlMs;
    return Promise.resolve(toEntry(slot));
  }

  getMany(ns: string, keys: readonly string[], trackRead = false): Promise<(Entry | undefined)[]> {
    const now = this.now();
    return Promise.resolve(
      keys.map((key) => {
        const slot = this.live(ns, key, now);
        if (slot === undefined) return undefined;
        this.read(slot, now, trackRead);
        return toEntry(slot);
      }),
    );
  }

  set(ns: string, input: SetInput): Promise<SetOutcome> {
    const now = this.now();
    const current = this.live(ns, input.key, now);
    const c = input.condition;
    const blocked =
      (c.mode === "ifAbsent" && current !== undefined) ||
      (c.mode === "ifPresent" && current === undefined) ||
      (c.mode === "ifVersion" && (current === undefined || current.version !== c.version)) ||
      (input.guard !== undefined && !this.locks.allows(ns, input.guard));
    if (blocked) {
      return Promise.resolve({
        applied: false,
        created: false,
        version: current?.version ?? 0,
        expiresAt: current?.expiresAt,
      });
    }
    const slot = this.write(ns, input, now);
    this.evict(slot);
    return Promise.resolve({
      applied: true,
      created: current === undefined,
      version: slot.version,
      expiresAt: slot.expiresAt,
    });
  }

  setMany(ns: string, inputs: readonly WriteInput[]): Promise<SetManyOutcome[]> {
    const now = this.now();
    const outcomes = inputs.map((input) => {
      const created = this.live(ns, input.key, now) === undefined;
      const slot = this.write(ns, input, now);
      return { created, version: slot.version };
    });
    this.evict(undefined);
    return Promise.resolve(outcomes);
  }

  has(ns: string, key: string): Promise<HasOutcome> {
    const slot = this.live(ns, key, this.now());
    return Promise.resolve(slot === undefined ? { found: false } : { found: true, expiresAt: slot.expiresAt });
  }

  delete(ns: string, keys: readonly string[]): Promise<number> {
    const now = this.now();
    let deleted = 0;
    for (const key of new Set(keys)) {
      const slot = this.live(ns, key, now);
      if (slot !== undefined) {
        this.remove(slot);
        deleted++;
      }
    }
    return Promise.resolve(deleted);
  }

  extend(ns: string, key: string, addMs: number, maxTtlMs: number): Promise<ExtendOutcome> {
    const now = this.now();
    const slot = this.live(ns, key, now);
    if (slot === undefined) return Promise.resolve({ status: "missing" });
    if (slot.expiresAt === undefined) return Promise.resolve({ status: "extended", expiresAt: undefined });
    const remainingMs = slot.expiresAt - now;
    if (remainingMs + addMs > maxTtlMs) return Promise.resolve({ status: "exceedsMax", remainingMs });
    slot.expiresAt += addMs;
    return Promise.resolve({ status: "extended", expiresAt: slot.expiresAt });
  }

  sampleNamespaces(): Promise<NamespaceSample> {
    // Exact and cheap here: every namespace already knows its size.
    const counts = new Map<string, number>();
    for (const [name, space] of this.namespaces) if (space.entries.size > 0) counts.set(name, space.entries.size);
    return Promise.resolve({ counts, approximate: false });
  }

  keys(ns: string, pattern: string, cursor: string, limit: number): Promise<KeysPage> {
    const space = this.namespaces.get(ns);
    const after = parsePositionCursor(cursor);
    if (space === undefined) return Promise.resolve({ keys: [], nextCursor: "" });
    const matcher = pattern === "*" ? undefined : globToRegExp(pattern);
    const now = this.now();
    const keys: string[] = [];
    // Map iteration follows creation order, which `position` numbers, so a
    // cursor is the last position handed out and survives other writes.
    for (const slot of space.entries.values()) {
      if (slot.position <= after) continue;
      if (isExpired(slot, now)) continue;
      if (matcher !== undefined && !matcher.test(slot.key)) continue;
      keys.push(slot.key);
      if (keys.length === limit) {
        const more = space.created > slot.position;
        return Promise.resolve({ keys, nextCursor: more ? String(slot.position) : "" });
      }
    }
    return Promise.resolve({ keys, nextCursor: "" });
  }

  increment(ns: string, key: string, delta: bigint, expiry: Expiry): Promise<IncrementOutcome> {
    const now = this.now();
    const current = this.live(ns, key, now);
    let base = 0n;
    if (current !== undefined) {
      if (current.value.kind !== "json" || !integerJson.test(current.value.json)) {
        throw new LarderError("failedPrecondition", "key: the stored value is not an integer");
      }
      base = BigInt(current.value.json);
    }
    const next = base + delta;
    if (next < int64Min || next > int64Max) {
      throw new LarderError("outOfRange", "delta: the result would overflow a 64-bit integer");
    }
    const value: StoredValue = { kind: "json", json: next.toString() };
    const slot =
      current === undefined
        ? this.write(ns, { key, value, expiry }, now)
        : this.overwrite(current, value, current.expiresAt, now);
    this.evict(slot);
    return Promise.resolve({ value: next, created: current === undefined, version: slot.version, expiresAt: slot.expiresAt });
  }

  lock(ns: string, name: string, grant: LockGrant): Promise<LockAttempt> {
    return Promise.resolve(this.locks.lock(ns, name, grant));
  }

  unlock(ns: string, name: string, token: string): Promise<UnlockOutcome> {
    return Promise.resolve(this.locks.unlock(ns, name, token));
  }

  extendLock(ns: string, name: string, token: string, ttlMs: number): Promise<ExtendLockOutcome> {
    return Promise.resolve(this.locks.extendLock(ns, name, token, ttlMs));
  }

  checkLock(ns: string, name: string): Promise<LockHolder | undefined> {
    return Promise.resolve(this.locks.checkLock(ns, name));
  }

  listLocks(ns: string, pattern: string, cursor: string, limit: number): Promise<LocksPage> {
    return Promise.resolve(this.locks.listLocks(ns, pattern, cursor, limit));
  }

  watchLocks(ns: string, onRelease: (name: string) => void): Promise<() => void> {
    return Promise.resolve(this.locks.watch(ns, onRelease));
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    return Promise.resolve();
  }

  /** The live slot of a key, dropping it first if it has expired. */
  private live(ns: string, key: string, now: number): Slot | undefined {
    const slot = this.namespaces.get(ns)?.entries.get(key);
    if (slot === undefined) return undefined;
    if (isExpired(slot, now)) {
      this.remove(slot);
      return undefined;
    }
    return slot;
  }

  /** A read moves the entry up the LRU; with tracking it records the read time, as Redis does, to the second. */
  private read(slot: Slot, now: number, track: boolean): void {
    if (track && (slot.lastReadAt === undefined || now - slot.lastReadAt >= 1000)) slot.lastReadAt = now;
    this.toHead(slot);
  }

  private write(ns: string, input: WriteInput, now: number): Slot {
    const expiresAt = "ttlMs" in input.expiry ? now + input.expiry.ttlMs : undefined;
    const space = this.space(ns);
    const existing = space.entries.get(input.key);
    if (existing !== undefined) {
      if (!isExpired(existing, now)) return this.overwrite(existing, input.value, expiresAt, now);
      this.remove(existing);
    }
    const slot: Slot = {
      ns: space,
      key: input.key,
      position: ++space.created,
      value: own(input.value),
      bytes: sizeOf(input.key, input.value),
      createdAt: now,
      updatedAt: now,
      expiresAt,
      lastReadAt: undefined,
      version: ++space.seq,
      newer: undefined,
      older: undefined,
    };
    space.entries.set(input.key, slot);
    this.count++;
    this.bytes += slot.bytes;
    this.toHead(slot);
    return slot;
  }

  private overwrite(slot: Slot, value: StoredValue, expiresAt: number | undefined, now: number): Slot {
    const bytes = sizeOf(slot.key, value);
    this.bytes += bytes - slot.bytes;
    slot.bytes = bytes;
    slot.value = own(value);
    slot.updatedAt = now;
    slot.expiresAt = expiresAt;
    slot.version = ++slot.ns.seq;
    this.toHead(slot);
    return slot;
  }

  private space(ns: string): Namespace {
    let space = this.namespaces.get(ns);
    if (space === undefined) {
      space = { name: ns, entries: new Map(), seq: 0, created: 0 };
      this.namespaces.set(ns, space);
    }
    return space;
  }

  private remove(slot: Slot): void {
    if (slot.ns.entries.get(slot.key) !== slot) return;
    slot.ns.entries.delete(slot.key);
    this.unlink(slot);
    this.count--;
    this.bytes -= slot.bytes;
  }

  /** Evicts least recently used entries until within bounds, sparing `keep`. */
  private evict(keep: Slot | undefined): void {
    while ((this.count > this.maxEntries || this.bytes > this.maxBytes) && this.tail !== undefined) {
      if (this.tail === keep && this.count === 1) break;
      this.remove(this.tail === keep ? (keep.newer as Slot) : this.tail);
    }
  }

  private toHead(slot: Slot): void {
    if (this.head === slot) return;
    this.unlink(slot);
    slot.older = this.head;
    if (this.head !== undefined) this.head.newer = slot;
    this.head = slot;
    this.tail ??= slot;
  }

  private unlink(slot: Slot): void {
    if (slot.newer !== undefined) slot.newer.older = slot.older;
    else if (this.head === slot) this.head = slot.older;
    if (slot.older !== undefined) slot.older.newer = slot.newer;
    else if (this.tail === slot) this.tail = slot.newer;
    slot.newer = undefined;
    slot.older = undefined;
  }

  /** Drops expired entries a bounded batch at a time, resuming where it stopped. */
  private sweep(): void {
    this.locks.sweep();
    const now = this.now();
    this.sweepCursor ??= this.allSlots();
    for (let i = 0; i < sweepBudget; i++) {
      const next = this.sweepCursor.next();
      if (next.done === true) {
        this.sweepCursor = undefined;
        return;
      }
      if (isExpired(next.value, now)) this.remove(next.value);
    }
  }

  private *allSlots(): Generator<Slot> {
    for (const space of this.namespaces.values()) yield* space.entries.values();
  }
}
