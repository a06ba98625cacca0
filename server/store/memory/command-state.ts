import { randomBytes } from "node:crypto";
import type { CommandDecision, CommandEventRecord, CommandIdentityRecord, CommandState, FlightState, StoredCommandResponse } from "../command-state.js";

interface IdentityState {
  entry: StoredCommandResponse | undefined;
  fallback: boolean;
  runs: number;
  /** The last live call's status and time; undefined before the first. */
  last: { status: number; at: number } | undefined;
}

/** Every how many runs in fallback mode one goes live. */
export const liveEveryNthRun = 5;
const maxEvents = 10_000;

/**
 * RunCommand state in process memory, for the memory store. Single flight
 * here only spans one process, which is all a memory store can serve.
 * @param now the clock, shared with the memory store so that tests move both.
 */
export function createMemoryCommandState(now: () => number = Date.now): CommandState {
  const states = new Map<string, IdentityState>();
  const events = new Map<string, CommandEventRecord[]>();
  const leases = new Map<string, { token: string; until: number }>();
  const outcomes = new Map<string, { outcome: string; until: number }>();
  const k = (ns: string, id: string): string => `${ns}\u0000${id}`;
  const state = (ns: string, id: string): IdentityState => {
    let s = states.get(k(ns, id));
    if (s === undefined) states.set(k(ns, id), (s = { entry: undefined, fallback: false, runs: 0, last: undefined }));
    return s;
  };
  // Identities whose response is past keeping and that are not in fallback
  // are dropped now and then, so that one-off arg values do not pile up.
  let nextPrune = 0;
  const prune = (t: number, keepMs: number): void => {
    if (t < nextPrune) return;
    nextPrune = t + 60_000;
    for (const [key, s] of states) if (!s.fallback && (s.entry === undefined || t - s.entry.storedAt > keepMs)) states.delete(key);
  };
  const valid = (s: IdentityState, t: number, keepMs: number): StoredCommandResponse | undefined =>
    s.entry !== undefined && t - s.entry.storedAt <= keepMs ? s.entry : undefined;

  return {
    async decide(ns, id, freshMs, keepMs): Promise<CommandDecision> {
      const t = now();
      const s = state(ns, id);
      const entry = valid(s, t, keepMs);
      if (s.fallback) {
        s.runs++;
        if (entry === undefined || s.runs % liveEveryNthRun === 0) return { action: "live", now: t };
        return { action: "fallback", entry, now: t };
      }
      if (entry !== undefined && t - entry.storedAt < freshMs) return { action: "cached", entry, now: t };
      return { action: "live", now: t };
    },
    async recordSuccess(ns, id, response, keepMs, status) {
      const t = now();
      prune(t, keepMs);
      const s = state(ns, id);
      s.last = { status, at: t };
      const deactivated = s.fallback;
      s.entry = { response, storedAt: t };
      s.fallback = false;
      s.runs = 0;
      return { deactivated, now: t };
    },
    async recordFailure(ns, id, keepMs, status) {
      const t = now();
      const s = state(ns, id);
      s.last = { status, at: t };
      const activated = !s.fallback;
      if (activated) s.runs = 0;
      s.fallback = true;
      return { activated, entry: valid(s, t, keepMs), now: t };
    },
    async listStates(ns, command, limit, keepMs) {
      const t = now();
      const head = k(ns, `${command}:`);
      const out: CommandIdentityRecord[] = [];
      for (const [key, s] of states) {
        if (!key.startsWith(head) || s.last === undefined || t - s.last.at > keepMs) continue;
        const storedAt = valid(s, t, keepMs)?.storedAt;
        out.push({ id: key.slice(ns.length + 1), fallback: s.fallback, lastStatus: s.last.status, storedAt, updatedAt: s.last.at });
      }
      return { states: out.sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit), now: t };
    },
    async addEvent(ns, event, keepMs) {
      const t = now();
      const record = { ...event, time: t };
      const list = (events.get(ns) ?? []).filter((e) => t - e.time <= keepMs);
      list.push(record);
      events.set(ns, list.slice(-maxEvents));
      return record;
    },
    async listEvents(ns, command, limit, keepMs) {
      const t = now();
      return (events.get(ns) ?? [])
        .filter((e) => t - e.time <= keepMs && (command === undefined || e.command === command))
        .reverse()
        .slice(0, limit);
    },
    async lead(ns, id, ttlMs) {
      const t = now();
      const held = leases.get(k(ns, id));
      if (held !== undefined && held.until > t) return { leader: false, token: held.token };
      const token = randomBytes(12).toString("base64url");
      leases.set(k(ns, id), { token, until: t + ttlMs });
      return { leader: true, token };
    },
    async land(ns, id, token, outcome, keepMs) {
      const t = now();
      for (const [key, o] of outcomes) if (o.until <= t) outcomes.delete(key);
      outcomes.set(token, { outcome, until: t + keepMs });
      if (leases.get(k(ns, id))?.token === token) leases.delete(k(ns, id));
    },
    async flight(ns, id, token): Promise<FlightState> {
      const o = outcomes.get(token);
      if (o !== undefined && o.outcome !== "") return { state: "done", outcome: o.outcome };
      const held = leases.get(k(ns, id));
      return held?.token === token && held.until > now() ? { state: "running" } : { state: "gone" };
    },
  };
}
