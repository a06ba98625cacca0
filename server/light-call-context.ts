import type { LarderError } from "./errors.js";
import type { CallContext } from "./service.js";

/**
 * The {@link CallContext} of a call served without connect-node (the gRPC
 * fast path): no AbortController until something waits on the signal.
 */
export class LightCallContext implements CallContext {
  private controller: AbortController | undefined;

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
}
