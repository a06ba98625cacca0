/**
 * The shared state of RunCommand: cached responses, fallback mode with its
 * run counter, the namespace event log and single-flight leases. It lives
 * in the store, not in a process, so that every server instance sharing the
 * backend sees one state machine per command identity. Every method is one
 * atomic step (one Lua script in Redis), so concurrent runs on different
 * instances never interleave inside a decision.
 */

/** A response as stored: the upstream response serialized by the runner, and when it was stored. */
export interface StoredCommandResponse {
  /** Opaque to the store: the runner's JSON encoding of the response. */
  readonly response: string;
  /** Store-clock ms when it was stored. */
  readonly storedAt: number;
}

/** What a run should do, decided atomically with the fallback counter. */
export type CommandDecision =
  | { readonly action: "cached"; readonly entry: StoredCommandResponse; readonly now: number }
  | { readonly action: "fallback"; readonly entry: StoredCommandResponse; readonly now: number }
  | { readonly action: "live"; readonly now: number };

/** One namespace log event of RunCommand. */
export interface CommandEventRecord {
  readonly time: number;
  readonly command: string;
  /** The upstream status that caused it; 0 for a timeout or connection failure. */
  readonly upstreamStatus: number;
  readonly kind: "activated" | "deactivated";
}

/** One cache identity's state, as the dashboard lists it. */
export interface CommandIdentityRecord {
  readonly id: string;
  readonly fallback: boolean;
  /** The status of the last live upstream call; 0 for a timeout or connection failure. */
  readonly lastStatus: number;
  /** Store-clock ms when the kept response was stored; undefined when none is kept. */
  readonly storedAt: number | undefined;
  /** Store-clock ms of the last live call. */
  readonly updatedAt: number;
}

/** Where a single-flight run stands, seen by a follower. */
export type FlightState =
  | { readonly state: "done"; readonly outcome: string }
  | { readonly state: "running" }
  /** The lease is gone without an outcome (the leader died): run again. */
  | { readonly state: "gone" };

/** The RunCommand state of one backend. */
export interface CommandState {
  /**
   * Decides one run. Out of fallback: "cached" when a response younger than
   * `freshMs` exists, else "live". In fallback: counts the run, and answers
   * "live" on every 5th run (or when nothing within `keepMs` is cached),
   * else "fallback" with the latest response, however old within `keepMs`.
   */
  decide(ns: string, id: string, freshMs: number, keepMs: number): Promise<CommandDecision>;

  /**
   * Records a live 2xx–3xx with its `status`: stores `response` (kept
   * `keepMs`) and leaves fallback mode. `deactivated` is true when fallback
   * mode was on.
   */
  recordSuccess(ns: string, id: string, response: string, keepMs: number, status: number): Promise<{ deactivated: boolean; now: number }>;

  /**
   * Records a live failure with its upstream `status` (0: timeout or
   * connection failure): turns fallback mode on (`activated` when it was
   * off, which restarts the run counter) and returns the latest response
   * stored within `keepMs`, if any.
   */
  recordFailure(
    ns: string,
    id: string,
    keepMs: number,
    status: number,
  ): Promise<{ activated: boolean; entry: StoredCommandResponse | undefined; now: number }>;

  /**
   * The identities of one command (ids start with `<command>:`) with a live
   * call recorded within `keepMs`, most recent first, at most `limit`, and
   * the store's clock.
   */
  listStates(ns: string, command: string, limit: number, keepMs: number): Promise<{ states: CommandIdentityRecord[]; now: number }>;

  /** Appends an event to the namespace log, dropping events older than `keepMs`. */
  addEvent(ns: string, event: Omit<CommandEventRecord, "time">, keepMs: number): Promise<CommandEventRecord>;

  /** The namespace's events within `keepMs`, newest first, optionally of one command. */
  listEvents(ns: string, command: string | undefined, limit: number, keepMs: number): Promise<CommandEventRecord[]>;

  /**
   * Tries to lead the live call of an identity for `ttlMs`. Returns the
   * lease token: `leader` true when this caller got it, else the current
   * leader's token to follow.
   */
  lead(ns: string, id: string, ttlMs: number): Promise<{ leader: boolean; token: string }>;

  /** Publishes the leader's outcome for followers (kept `keepMs`) and ends the lease. */
  land(ns: string, id: string, token: string, outcome: string, keepMs: number): Promise<void>;

  /** Where the flight with `token` stands. */
  flight(ns: string, id: string, token: string): Promise<FlightState>;
}
