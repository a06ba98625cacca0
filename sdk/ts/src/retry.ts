import { setTimeout as sleep } from "node:timers/promises";
import { Code } from "@connectrpc/connect";
import { toLarderError } from "./errors.js";

/** How a call is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 disables retrying. */
  readonly retries: number;
  /** The delay before the first retry, doubled for each further one, in ms. */
  readonly baseDelayMs: number;
  /** The longest delay between two attempts, in ms. */
  readonly maxDelayMs: number;
}

/** The backoff used unless a test or caller needs another. */
export const defaultBackoff = { baseDelayMs: 50, maxDelayMs: 2000 } as const;

/**
 * Whether a call may be repeated. Only calls whose effect is the same when
 * applied twice are "idempotent": a repeated Increment would count twice, a
 * repeated Extend would add time twice, and a repeated conditional Set could
 * report "not applied" for a write that in fact succeeded the first time.
 */
export type Idempotency = "idempotent" | "once";

/**
 * Runs a call, retrying on UNAVAILABLE when it is safe to repeat, and turns
 * any failure into a LarderError.
 *
 * UNAVAILABLE is the only retried code because it is the one the server (and
 * the transport, for refused connections) uses for "try again"; everything
 * else is either the caller's mistake or a deadline the caller set.
 *
 * @param call one attempt; called again for each retry.
 * @param idempotency whether the call may be repeated.
 * @param policy how many retries and how long to wait between them.
 */
export async function withRetry<T>(call: () => Promise<T>, idempotency: Idempotency, policy: RetryPolicy): Promise<T> {
  const attempts = idempotency === "idempotent" ? policy.retries + 1 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const error = toLarderError(err);
      if (error.code !== Code.Unavailable || attempt >= attempts) throw error;
      await sleep(backoffDelay(attempt, policy));
    }
  }
}

/**
 * The wait before retry number `retry` (1-based): exponential, with "equal
 * jitter" (half fixed, half random) so that many function instances that lost
 * the server at the same moment do not come back in lockstep, while each
 * still waits at least half the nominal delay.
 *
 * @param retry which retry this is, starting at 1.
 * @param policy the backoff parameters.
 */
export function backoffDelay(retry: number, policy: RetryPolicy): number {
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return nominal / 2 + Math.random() * (nominal / 2);
}
