import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { CacheService } from "../gen/larder/v1/cache_pb.js";
import { HealthCheckResponse_ServingStatus as Status, type Health } from "../gen/grpc/health/v1/health_pb.js";
import type { Logger } from "../core/logger.js";
import type { Store } from "../store/store.js";

/** Options of {@link createHealth}. */
export interface HealthOptions {
  /** The store whose `ping()` decides SERVING. Required. */
  store: Pick<Store, "ping" | "kind">;
  /** How often the store is pinged, in ms. Default 1000. */
  pollIntervalMs?: number;
  /** How long one ping may take before the store counts as unreachable, in ms. Default 2000. */
  pingTimeoutMs?: number;
  /** Services reported besides the overall "" one. Default `["larder.v1.CacheService"]`. */
  services?: readonly string[];
  /** Where status changes are logged. Default: not logged. */
  logger?: Logger;
  /** Told about every change of {@link HealthMonitor.serving}, e.g. for a metric. Default: nobody. */
  onChange?: (serving: boolean) => void;
}

/**
 * Larder's health: SERVING while the store answers pings and the server is
 * not shutting down, NOT_SERVING otherwise. One status covers the overall ""
 * service and `larder.v1.CacheService`, because the store is the only
 * dependency either has.
 */
export interface HealthMonitor {
  /** Whether the server is SERVING right now. */
  readonly serving: boolean;
  /** The `grpc.health.v1.Health` implementation (Check and Watch). */
  readonly service: ServiceImpl<typeof Health>;
  /**
   * Turns NOT_SERVING for good and ends every Watch stream after it has sent
   * that status, so that draining is not held up by watchers.
   */
  beginShutdown(): void;
  /** Pings the store now; resolves once the status reflects the answer. */
  pollNow(): Promise<void>;
  /** Stops polling. */
  stop(): void;
}

/**
 * Creates the health monitor and starts polling the store. The status is
 * NOT_SERVING until the first ping answers, so that a readiness probe never
 * admits traffic to a server whose store was never reached.
 */
export function createHealth(options: HealthOptions): HealthMonitor {
  const { store, logger, onChange } = options;
  const pingTimeoutMs = options.pingTimeoutMs ?? 2000;
  const services = new Set(["", ...(options.services ?? [CacheService.typeName])]);
  let reachable: boolean | undefined;
  let shuttingDown = false;
  const waiters = new Set<() => void>();

  const serving = (): boolean => reachable === true && !shuttingDown;
  const notify = (): void => {
    onChange?.(serving());
    for (const wake of waiters) wake();
    waiters.clear();
  };

  const setReachable = (up: boolean, err?: unknown): void => {
    if (up === reachable) return;
    const first = reachable === undefined;
    reachable = up;
    if (up && !first) {
      logger?.info("store reachable again: health SERVING", { store: store.kind });
    } else if (!up) {
      // One line per transition rather than one per failed call, so that an
      // outage under load does not flood the log.
      logger?.warn("store unreachable: health NOT_SERVING, calls answer UNAVAILABLE until it is back", {
        store: store.kind,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    notify();
  };

  let inFlight: Promise<void> | undefined;
  const poll = (): Promise<void> => {
    inFlight ??= withTimeout(store.ping(), pingTimeoutMs)
      .then(
        () => setReachable(true),
        (err: unknown) => setReachable(false, err),
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const timer = setInterval(() => void poll(), options.pollIntervalMs ?? 1000);
  timer.unref();
  void poll();

  /** Resolves on the next status change, on shutdown, or when the signal aborts. */
  const changed = (signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });

  const statusOf = (service: string): Status | undefined => {
    if (!services.has(service)) return undefined;
    return serving() ? Status.SERVING : Status.NOT_SERVING;
  };

  return {
    get serving() {
      return serving();
    },
    service: {
      check(req) {
        const status = statusOf(req.service);
        if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
        return { status };
      },
      async *watch(req, ctx: HandlerContext) {
        let last: Status | undefined;
        for (;;) {
          const status = statusOf(req.service) ?? Status.SERVICE_UNKNOWN;
          if (status !== last) {
            last = status;
            yield { status };
          }
          if (shuttingDown || ctx.signal.aborted) return;
          await changed(ctx.signal);
        }
      },
    },
    beginShutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      notify();
    },
    pollNow: poll,
    stop() {
      clearInterval(timer);
    },
  };
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
