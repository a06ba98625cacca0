import { randomBytes } from "node:crypto";
import type { ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs, type TimestampSchema } from "@bufbuild/protobuf/wkt";
import { listCommandEventsRpc, runCommandRpc } from "../commands/rpc.js";
import type { CommandRunner } from "../commands/runner.js";
import { invalidArgument, limitExceeded } from "../core/errors.js";
import { SetMode, type CacheService, type SetRequest, type SetResponseSchema } from "../gen/larder/v1/cache_pb.js";
import { ExtendLockStatus, UnlockStatus, type LockHolderSchema } from "../gen/larder/v1/lock_pb.js";
import type { EntryMetadataSchema, ValueSchema } from "../gen/larder/v1/value_pb.js";
import { defaultLimits, defaultNamespacePolicy, describeMs, type Limits, type NamespacePolicy } from "../core/limits.js";
import { LockWaiters } from "./lock-waiters.js";
import { noopServiceMetrics, type ServiceMetrics } from "../core/metrics.js";
import type { Entry, EntryMeta, LockHolder, Store, StoredValue, WriteCondition } from "../store/store.js";
import {
  checkBatch,
  checkKey,
  checkKeys,
  checkLabel,
  checkLockGuard,
  checkLockTtl,
  checkLockWait,
  checkPageLimit,
  checkPattern,
  checkTtl,
  checkToken,
  checkValue,
  resolveExpiry,
} from "./validate.js";

/** Options of {@link CacheServiceHandler}. */
export interface CacheServiceOptions {
  /** Request limits. Default {@link defaultLimits}. */
  limits?: Partial<Limits>;
  /** The TTL policy of every namespace. Default {@link defaultNamespacePolicy}. */
  ttlPolicy?: Partial<NamespacePolicy>;
  /** Per-namespace overrides of the TTL policy. Default none. */
  namespacePolicies?: Readonly<Record<string, Partial<NamespacePolicy>>>;
  /** Where lock and RunCommand events are counted. Default: nowhere. */
  serviceMetrics?: ServiceMetrics;
  /** Runs the configured commands; without one, every command is undefined. */
  commandRunner?: CommandRunner | undefined;
}

/**
 * What the service needs to know about the call it serves, whatever the
 * transport: connect-node's HandlerContext and the gRPC fast path both
 * provide it, so the logic never depends on either.
 */
export interface CallContext {
  /** The namespace the call acts in, resolved by the request gate. */
  readonly namespace: string;
  /** Aborted when the client goes away or the deadline passes. */
  readonly signal: AbortSignal;
  /** Milliseconds until the call's deadline; undefined without one. */
  timeoutMs(): number | undefined;
}

type Impl = ServiceImpl<typeof CacheService>;
type Req<M extends keyof Impl> = Parameters<Impl[M]>[0];
type Res<M extends keyof Impl> = Promise<Awaited<ReturnType<Impl[M]>>>;

/**
 * The logic of `larder.v1.CacheService`: validation, defaults and mapping
 * between wire messages and the store. It knows nothing about transports:
 * the caller's namespace arrives in a {@link CallContext}, errors leave as
 * {@link LarderError}, and the store is injected. Transports reach it
 * through the method table of ./methods.ts.
 */
export class CacheServiceHandler {
  /** The limits in force. */
  readonly limits: Readonly<Limits>;
  private readonly basePolicy: Readonly<NamespacePolicy>;
  private readonly policies: ReadonlyMap<string, Readonly<NamespacePolicy>>;
  private readonly waiters: LockWaiters;
  private readonly events: ServiceMetrics;
  private readonly commands: CommandRunner | undefined;

  /**
   * @param store where the data lives.
   * @param options limits and TTL policies.
   */
  constructor(
    private readonly store: Store,
    options: CacheServiceOptions = {},
  ) {
    this.limits = { ...defaultLimits, ...options.limits };
    this.basePolicy = { ...defaultNamespacePolicy, ...options.ttlPolicy };
    this.policies = new Map(
      Object.entries(options.namespacePolicies ?? {}).map(([ns, p]) => [ns, { ...this.basePolicy, ...p }]),
    );
    this.waiters = new LockWaiters(store);
    this.events = options.serviceMetrics ?? noopServiceMetrics;
    this.commands = options.commandRunner;
  }

  async get(req: Req<"get">, ctx: CallContext): Res<"get"> {
    const ns = ctx.namespace;
    const key = checkKey("key", req.key, this.limits);
    const touch =
      req.touchTtlMs === undefined ? undefined : checkTtl("touch_ttl_ms", req.touchTtlMs, this.policy(ns).maxTtlMs);
    const entry = await this.store.get(ns, key, touch, this.policy(ns).trackReads);
    return entryResponse(entry);
  }

  async set(req: Req<"set">, ctx: CallContext): Res<"set"> {
    const ns = ctx.namespace;
    const policy = this.policy(ns);
    const key = checkKey("key", req.key, this.limits);
    const value = checkValue("value", req.value, this.limits);
    const expiry = resolveExpiry(req.expiry, policy);
    const condition = writeCondition(req);
    // A guard that does not hold answers applied = false, like every other
    // condition: losing a lock is an expected outcome for the holder to act
    // on, not a malformed call.
    const guard = req.lockGuard === undefined ? undefined : checkLockGuard("lock_guard", req.lockGuard, this.limits);
    const out = await this.store.set(ns, { key, value, expiry, condition, guard });
    return {
      applied: out.applied,
      created: out.created,
      version: BigInt(out.version),
      expiresAt: timestamp(out.expiresAt),
    } satisfies MessageInitShape<typeof SetResponseSchema>;
  }

  async has(req: Req<"has">, ctx: CallContext): Res<"has"> {
    const ns = ctx.namespace;
    const out = await this.store.has(ns, checkKey("key", req.key, this.limits));
    return out.found ? { found: true, expiresAt: timestamp(out.expiresAt) } : { found: false };
  }

  async delete(req: Req<"delete">, ctx: CallContext): Res<"delete"> {
    const ns = ctx.namespace;
    const deleted = await this.store.delete(ns, checkKeys("keys", req.keys, this.limits));
    return { deleted: BigInt(deleted) };
  }

  async extend(req: Req<"extend">, ctx: CallContext): Res<"extend"> {
    const ns = ctx.namespace;
    const key = checkKey("key", req.key, this.limits);
    const maxTtlMs = this.policy(ns).maxTtlMs;
    const addMs = checkTtl("add_ms", req.addMs, maxTtlMs);
    const out = await this.store.extend(ns, key, addMs, maxTtlMs);
    switch (out.status) {
      case "missing":
        return { found: false };
      case "extended":
        return { found: true, expiresAt: timestamp(out.expiresAt) };
      case "exceedsMax":
        throw limitExceeded(
          "add_ms",
          `the TTL would become ${out.remainingMs + addMs} ms, over the maximum TTL of ${describeMs(maxTtlMs)}`,
        );
    }
  }

  async keys(req: Req<"keys">, ctx: CallContext): Res<"keys"> {
    const ns = ctx.namespace;
    const pattern = checkPattern("pattern", req.pattern, this.limits);
    const limit = checkPageLimit("limit", req.limit, this.limits);
    return this.store.keys(ns, pattern, req.cursor, limit);
  }

  async getMany(req: Req<"getMany">, ctx: CallContext): Res<"getMany"> {
    const ns = ctx.namespace;
    const keys = checkKeys("keys", req.keys, this.limits);
    const entries = await this.store.getMany(ns, keys, this.policy(ns).trackReads);
    return {
      items: keys.map((key, i) => getManyItem(key, entries[i])),
    };
  }

  async setMany(req: Req<"setMany">, ctx: CallContext): Res<"setMany"> {
    const ns = ctx.namespace;
    const policy = this.policy(ns);
    checkBatch("entries", req.entries.length, this.limits);
    const inputs = req.entries.map((e, i) => ({
      key: checkKey(`entries[${i}].key`, e.key, this.limits),
      value: checkValue(`entries[${i}].value`, e.value, this.limits),
      expiry: resolveExpiry(e.expiry, policy),
    }));
    const outcomes = await this.store.setMany(ns, inputs);
    return {
      results: outcomes.map((o, i) => ({
        key: inputs[i]?.key ?? "",
        created: o.created,
        version: BigInt(o.version),
      })),
    };
  }

  async increment(req: Req<"increment">, ctx: CallContext): Res<"increment"> {
    const ns = ctx.namespace;
    const key = checkKey("key", req.key, this.limits);
    const expiry = resolveExpiry(req.expiry, this.policy(ns));
    const out = await this.store.increment(ns, key, req.delta ?? 1n, expiry);
    return {
      value: out.value,
      created: out.created,
      version: BigInt(out.version),
      expiresAt: timestamp(out.expiresAt),
    };
  }

  async lock(req: Req<"lock">, ctx: CallContext): Res<"lock"> {
    const ns = ctx.namespace;
    const name = checkKey("name", req.name, this.limits);
    const ttlMs = checkLockTtl("ttl_ms", req.ttlMs, this.limits);
    const waitMs = withinCall(checkLockWait("wait_ms", req.waitMs, this.limits), ctx);
    const owner = checkLabel("owner", req.owner, this.limits);
    // 128 random bits: the token is the only proof of ownership, so it must
    // not be guessable from fencing tokens, names or time.
    const grant = { token: randomBytes(16).toString("base64url"), owner, ttlMs };
    const started = performance.now();
    let waited = false;
    const out = await this.waiters.acquire(ns, name, grant, waitMs, ctx.signal, () => {
      waited = true;
      this.events.lockWaitStarted();
    });
    if (!out.acquired) {
      this.events.lockNotAcquired();
      return { acquired: false, holder: holderMessage(out.holder) };
    }
    this.events.lockGranted(waited ? performance.now() - started : 0);
    return {
      acquired: true,
      token: grant.token,
      fencingToken: BigInt(out.fencingToken),
      expiresAt: timestampFromMs(out.expiresAt),
    };
  }

  async unlock(req: Req<"unlock">, ctx: CallContext): Res<"unlock"> {
    const ns = ctx.namespace;
    const name = checkKey("name", req.name, this.limits);
    const token = checkToken("token", req.token, this.limits);
    const out = await this.store.unlock(ns, name, token);
    const status = { released: UnlockStatus.RELEASED, notHeld: UnlockStatus.NOT_HELD, heldByOther: UnlockStatus.HELD_BY_OTHER };
    return { status: status[out] };
  }

  async extendLock(req: Req<"extendLock">, ctx: CallContext): Res<"extendLock"> {
    const ns = ctx.namespace;
    const name = checkKey("name", req.name, this.limits);
    const token = checkToken("token", req.token, this.limits);
    const ttlMs = checkLockTtl("ttl_ms", req.ttlMs, this.limits);
    const out = await this.store.extendLock(ns, name, token, ttlMs);
    switch (out.status) {
      case "extended":
        return { status: ExtendLockStatus.EXTENDED, expiresAt: timestampFromMs(out.expiresAt) };
      case "notHeld":
        return { status: ExtendLockStatus.NOT_HELD };
      case "heldByOther":
        return { status: ExtendLockStatus.HELD_BY_OTHER };
    }
  }

  async checkLock(req: Req<"checkLock">, ctx: CallContext): Res<"checkLock"> {
    const ns = ctx.namespace;
    const name = checkKey("name", req.name, this.limits);
    const waitMs = withinCall(checkLockWait("wait_ms", req.waitMs, this.limits), ctx);
    const holder = await this.waiters.awaitFree(ns, name, waitMs, ctx.signal);
    return holder === undefined ? { available: true } : { available: false, holder: holderMessage(holder) };
  }

  async listLocks(req: Req<"listLocks">, ctx: CallContext): Res<"listLocks"> {
    const ns = ctx.namespace;
    const pattern = checkPattern("pattern", req.pattern, this.limits);
    const limit = checkPageLimit("limit", req.limit, this.limits);
    const page = await this.store.listLocks(ns, pattern, req.cursor, limit);
    return {
      locks: page.locks.map((l) => ({ name: l.name, holder: holderMessage(l.holder) })),
      nextCursor: page.nextCursor,
    };
  }

  async runCommand(req: Req<"runCommand">, ctx: CallContext): Res<"runCommand"> {
    return runCommandRpc(this.commands, req, ctx.namespace, ctx.signal);
  }

  async listCommandEvents(req: Req<"listCommandEvents">, ctx: CallContext): Res<"listCommandEvents"> {
    return listCommandEventsRpc(this.commands, req, ctx.namespace);
  }

  /** The TTL policy of a namespace. */
  policy(ns: string): Readonly<NamespacePolicy> {
    return this.policies.get(ns) ?? this.basePolicy;
  }
}

function writeCondition(req: SetRequest): WriteCondition {
  switch (req.mode) {
    case SetMode.UNSPECIFIED:
    case SetMode.ALWAYS:
      if (req.ifVersion !== 0n) throw invalidArgument("if_version", "is only allowed with SET_MODE_IF_VERSION");
      return { mode: "always" };
    case SetMode.IF_ABSENT:
      return { mode: "ifAbsent" };
    case SetMode.IF_PRESENT:
      return { mode: "ifPresent" };
    case SetMode.IF_VERSION:
      if (req.ifVersion <= 0n) throw invalidArgument("if_version", "must be positive with SET_MODE_IF_VERSION");
      return { mode: "ifVersion", version: Number(req.ifVersion) };
    default:
      throw invalidArgument("mode", `unknown SetMode ${String(req.mode)}`);
  }
}

/** The fields GetResponse and GetManyItem share. */
type EntryFields =
  | { found: false }
  | { found: true; value: MessageInitShape<typeof ValueSchema>; metadata: MessageInitShape<typeof EntryMetadataSchema> };

/** One item of a GetMany answer, built in one literal: spreading entryResponse's object into it cost a tenth of the service's time per entry. */
function getManyItem(key: string, entry: Entry | undefined): { key: string } & EntryFields {
  if (entry === undefined) return { key, found: false };
  return { key, found: true, value: valueMessage(entry.value), metadata: metadataMessage(entry.meta) };
}

function entryResponse(entry: Entry | undefined): EntryFields {
  if (entry === undefined) return { found: false };
  return { found: true, value: valueMessage(entry.value), metadata: metadataMessage(entry.meta) };
}

function valueMessage(value: StoredValue): MessageInitShape<typeof ValueSchema> {
  if (value.kind === "binary") return { kind: { case: "binary", value: value.binary } };
  return { kind: value.utf8 === undefined ? { case: "json", value: value.json } : new JsonCase(value.utf8, value) };
}

/**
 * The `json` case of a Value whose text the store holds as UTF-8: the
 * binary encoder writes `utf8` as it is (see binaryEncoder), and anything
 * else reads `value`, which decodes only then.
 */
class JsonCase {
  readonly case = "json";

  constructor(
    readonly utf8: Uint8Array,
    private readonly stored: { readonly json: string },
  ) {}

  get value(): string {
    return this.stored.json;
  }
}

function metadataMessage(meta: EntryMeta): MessageInitShape<typeof EntryMetadataSchema> {
  return {
    createdAt: timestampInit(meta.createdAt),
    updatedAt: timestampInit(meta.updatedAt),
    expiresAt: timestamp(meta.expiresAt),
    lastReadAt: timestamp(meta.lastReadAt),
    version: BigInt(meta.version),
  };
}

/**
 * A Timestamp as an init shape, as timestampFromMs computes it but without
 * creating the message: the transport creates or encodes it, and a GetMany
 * answer has up to 4000 of them.
 */
function timestampInit(ms: number): MessageInitShape<typeof TimestampSchema> {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

function timestamp(ms: number | undefined): MessageInitShape<typeof TimestampSchema> | undefined {
  return ms === undefined ? undefined : timestampInit(ms);
}

/** How long before the caller's deadline a wait ends, so that its answer still arrives. */
const answerMarginMs = 100;

/**
 * Shortens a wait to end before the call's deadline: a caller whose deadline
 * is shorter than its wait_ms then gets "not acquired" with the holder
 * rather than DEADLINE_EXCEEDED and no information.
 */
function withinCall(waitMs: number, ctx: CallContext): number {
  const left = ctx.timeoutMs();
  return left === undefined ? waitMs : Math.max(0, Math.min(waitMs, left - answerMarginMs));
}

function holderMessage(holder: LockHolder): MessageInitShape<typeof LockHolderSchema> {
  return {
    owner: holder.owner,
    expiresAt: timestampFromMs(holder.expiresAt),
    fencingToken: BigInt(holder.fencingToken),
  };
}
