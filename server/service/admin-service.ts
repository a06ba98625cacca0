import type { ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { CommandRunner } from "../commands/runner.js";
import { invalidArgument } from "../core/errors.js";
import type { AdminService, CommandStateSchema, StatsSampleSchema } from "../gen/larder/v1/admin_pb.js";
import type { NamespaceSample, Store } from "../store/store.js";
import type { CallContext } from "./cache-service.js";
import type { IntervalStats, StatsSampler } from "./stats.js";

/** Options of {@link AdminServiceHandler}. */
export interface AdminServiceOptions {
  /** The server's store (timed, like every other store call). Required. */
  store: Store;
  /** Whether health reports SERVING. Required. */
  health: { readonly serving: boolean };
  /** Whether API keys are required; then ListNamespaces shows only the caller's namespace. Required. */
  authEnabled: boolean;
  /** The recent metrics; undefined when metrics are off (GetStats then answers no samples). */
  stats?: StatsSampler | undefined;
  /** The configured commands; undefined when there are none. */
  commandRunner?: CommandRunner | undefined;
  /** How long a namespace listing is reused, in ms. Default 10 000. */
  namespacesCacheMs?: number;
  /** Most backend keys one namespace listing looks at. Default 20 000. */
  namespacesMaxScan?: number;
  /** The clock. Default Date.now. */
  now?: () => number;
}

type Impl = ServiceImpl<typeof AdminService>;
type Req<M extends keyof Impl> = Parameters<Impl[M]>[0];
type Res<M extends keyof Impl> = Promise<Awaited<ReturnType<Impl[M]>>>;

/**
 * The logic of `larder.v1.AdminService`, free of any transport like the
 * CacheService's: what the dashboard shows beyond the data. Every answer is
 * bounded work: the namespace listing is one capped scan, shared by all
 * callers for a few seconds; statistics are read from the process's own
 * metrics; command states are a capped read per command.
 */
export class AdminServiceHandler {
  private readonly startedAt: number;
  private readonly now: () => number;
  private listing: { at: number; sample: Promise<NamespaceSample> } | undefined;

  /** @param options the store, health, metrics and commands to report on. */
  constructor(private readonly options: AdminServiceOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** The namespaces with entries and their counts (only the caller's with auth on), from a scan shared for a few seconds. */
  async listNamespaces(_req: Req<"listNamespaces">, ctx: CallContext): Res<"listNamespaces"> {
    const t = this.now();
    if (this.listing === undefined || t - this.listing.at >= (this.options.namespacesCacheMs ?? 10_000)) {
      const sample = this.options.store.sampleNamespaces(this.options.namespacesMaxScan ?? 20_000);
      this.listing = { at: t, sample };
      // A failed scan is not reused: the next caller tries again.
      sample.catch(() => {
        if (this.listing?.sample === sample) this.listing = undefined;
      });
    }
    const { at, sample } = this.listing;
    const { counts, approximate } = await sample;
    // With auth on, a key sees its own namespace only: names of other
    // tenants are theirs. The caller's own namespace is always listed, so
    // that an empty one can still be picked.
    const names = this.options.authEnabled ? [ctx.namespace] : [...new Set([ctx.namespace, ...counts.keys()])];
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      namespaces: names.map((name) => ({ name, keys: BigInt(counts.get(name) ?? 0) })),
      approximate,
      computedAt: timestampFromMs(at),
    };
  }

  /** This process's rates and latencies of the last 15 minutes, and whether the store answers. */
  async getStats(_req: Req<"getStats">, _ctx: CallContext): Res<"getStats"> {
    return {
      samples: (this.options.stats?.samples() ?? []).map(sampleMessage),
      storeKind: this.options.store.kind,
      serving: this.options.health.serving,
      startedAt: timestampFromMs(this.startedAt),
    };
  }

  /** The caller namespace's command definitions, without secret values, with each identity's fallback state. */
  async listCommandStates(req: Req<"listCommandStates">, ctx: CallContext): Res<"listCommandStates"> {
    if (req.limit < 0 || req.limit > 500) throw invalidArgument("limit", "must be from 0 (default 50) to 500");
    const runner = this.options.commandRunner;
    if (runner === undefined) return { commands: [] };
    const limit = req.limit === 0 ? 50 : req.limit;
    const ns = ctx.namespace;
    const commands = await Promise.all(
      runner.definitions(ns).map(async (def): Promise<MessageInitShape<typeof CommandStateSchema>> => {
        const { states, now } = def.cacheSeconds === undefined ? { states: [], now: 0 } : await runner.states(ns, def.name, limit);
        return {
          name: def.name,
          method: def.method,
          url: def.url,
          args: [...def.args],
          // Secret values never leave the process: only their header names.
          headers: [...def.headers].map(([name, value]) =>
            def.secrets.includes(value) ? { name, value: "", secret: true } : { name, value, secret: false },
          ),
          passHeaders: [...def.passHeaders],
          cacheSeconds: def.cacheSeconds ?? 0,
          timeoutMs: def.timeoutMs,
          identities: states.map((s) => ({
            id: s.id,
            fallback: s.fallback,
            lastUpstreamStatus: s.lastStatus,
            responseAgeMs: BigInt(s.storedAt === undefined ? -1 : Math.max(0, now - s.storedAt)),
            updatedAt: timestampFromMs(s.updatedAt),
          })),
        };
      }),
    );
    return { commands };
  }
}

function sampleMessage(s: IntervalStats): MessageInitShape<typeof StatsSampleSchema> {
  return {
    time: timestampFromMs(s.time),
    intervalMs: BigInt(s.intervalMs),
    methods: [...s.methods].map(([key, f]) => {
      const slash = key.indexOf("/");
      return {
        service: key.slice(0, slash),
        method: key.slice(slash + 1),
        callsPerSecond: f.perSecond,
        errorsPerSecond: f.errorsPerSecond,
        p50Ms: f.p50Ms,
        p99Ms: f.p99Ms,
      };
    }),
    hitRatio: s.hitRatio,
    readsPerSecond: s.readsPerSecond,
    store: [...s.store].map(([op, f]) => ({ op, callsPerSecond: f.perSecond, errorsPerSecond: f.errorsPerSecond, p50Ms: f.p50Ms, p99Ms: f.p99Ms })),
  };
}
