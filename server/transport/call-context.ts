import { LarderError } from "../core/errors.js";
import type { CallContext } from "../service/cache-service.js";

/**
 * The {@link CallContext} of a call served without connect-node (the gRPC
 * fast path): no AbortController until something waits on the signal.
 */
export class LightCallContext implements CallContext {
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param namespace the caller's namespace.
   * @param deadline `performance.now()` time of the deadline; undefined without one.
   */
  constructor(
    readonly namespace: string,
    private readonly deadline: number | undefined,
  ) {}

  // Created on first use only (lock waits): an AbortController per call,
  // and the DOMException of aborting it, were a tenth of a Get's CPU.
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** Milliseconds until the deadline; undefined without one. */
  timeoutMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - performance.now();
  }

  /** Aborts the signal, if anything took it. */
  abort(reason: LarderError): void {
    this.controller?.abort(reason);
  }

  /**
   * Arms the deadline, only for a call that has one: when it passes, the
   * signal aborts and `expired` gets the DEADLINE_EXCEEDED error.
   */
  armDeadline(expired: (err: LarderError) => void): void {
    const left = this.timeoutMs();
    // Node fires a timer of more than 2^31-1 ms after 1 ms; a deadline that
    // far away (grpc-timeout allows 99999999H) is no deadline in practice.
    if (left === undefined || left > maxTimerMs) return;
    this.timer = setTimeout(() => {
      const err = new LarderError("deadlineExceeded", "the call's deadline passed before it finished");
      this.abort(err);
      expired(err);
    }, Math.max(0, left));
  }

  /** Stops the deadline timer: the call is over. */
  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /** The client went away: whatever waits on the signal stops. */
  clientGone(): void {
    this.disarm();
    this.abort(new LarderError("unavailable", "the client went away"));
  }
}

const maxTimerMs = 2 ** 31 - 1;
