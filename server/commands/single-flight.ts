import { LarderError } from "../core/errors.js";
import type { CommandState } from "../store/command-state.js";

type Outcome<T> = { ok: T } | { error: { kind: LarderError["kind"]; message: string } };

/** How long followers can still read a leader's outcome. */
const outcomeKeepMs = 10_000;

/**
 * One live call per identity: in-process through a promise map, across
 * processes through a lease in the store. Followers poll the lease with
 * jitter; a live call lasts at least one upstream round trip, so a poll of
 * tens of milliseconds costs the store little and adds little latency.
 */
export class SingleFlight<T> {
  private readonly local = new Map<string, Promise<T>>();

  /** @param state where leases and outcomes are shared. */
  constructor(private readonly state: CommandState) {}

  /**
   * Runs `work` unless an identical run is in flight here or on another
   * instance, in which case its outcome (value or error) is shared.
   * @param leaseMs how long a lease lives if its leader dies.
   */
  run(ns: string, id: string, leaseMs: number, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    const key = `${ns}\u0000${id}`;
    const current = this.local.get(key);
    if (current !== undefined) return current;
    const p = this.acrossInstances(ns, id, leaseMs, signal, work).finally(() => this.local.delete(key));
    this.local.set(key, p);
    return p;
  }

  private async acrossInstances(ns: string, id: string, leaseMs: number, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    for (;;) {
      const lease = await this.state.lead(ns, id, leaseMs);
      if (lease.leader) return this.lead(ns, id, lease.token, work);
      for (;;) {
        if (signal.aborted) throw new LarderError("deadlineExceeded", "the call ended while an identical run was in flight");
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
        const f = await this.state.flight(ns, id, lease.token);
        if (f.state === "running") continue;
        if (f.state === "gone") break;
        const outcome = JSON.parse(f.outcome) as Outcome<T>;
        if ("ok" in outcome) return outcome.ok;
        throw new LarderError(outcome.error.kind, outcome.error.message);
      }
    }
  }

  private async lead(ns: string, id: string, token: string, work: () => Promise<T>): Promise<T> {
    let outcome: Outcome<T>;
    try {
      const value = await work();
      outcome = { ok: value };
    } catch (err) {
      // Unexpected errors are not shared: followers find the lease gone and try for themselves.
      if (!(err instanceof LarderError)) {
        await this.state.land(ns, id, token, "", 1).catch(() => undefined);
        throw err;
      }
      outcome = { error: { kind: err.kind, message: err.message } };
    }
    await this.state.land(ns, id, token, JSON.stringify(outcome), outcomeKeepMs);
    if ("ok" in outcome) return outcome.ok;
    throw new LarderError(outcome.error.kind, outcome.error.message);
  }
}
