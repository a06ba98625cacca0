import type { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http";
import type { ConnectError } from "@connectrpc/connect";
import { CacheService } from "../gen/larder/v1/cache_pb.js";
import type { CacheServiceHandler } from "../service/cache-service.js";
import type { CallPipeline, CallRecord } from "./call-pipeline.js";
import { LightCallContext } from "./call-context.js";

/** Options of the handlers that serve unary calls without connect-node. */
export interface UnaryPathOptions {
  /** The service logic, the same instance connect-node serves. */
  readonly service: CacheServiceHandler;
  /** The same gate, metrics and logs as the connect-node path. */
  readonly pipeline: CallPipeline;
  /** Largest request message or body, in bytes, as connect-node's readMaxBytes. */
  readonly maxRequestBytes: number;
}

/** What a call served without connect-node does with its request's events. */
export interface CallEvents {
  /** The client went away, or the exchange closed after the answer. */
  closed(): void;
  /** A chunk of the request body. */
  data(chunk: Buffer): void;
  /** The request body is complete. */
  end(): void;
}

const callOf = Symbol("larder.call");

type Carrier = EventEmitter & { [callOf]?: CallEvents };

/**
 * Routes the request's events to `call` through shared listener functions
 * that find the call on the emitter (`this`), rather than closures per call:
 * garbage collection was a tenth of a Get's CPU. `on` rather than `once`,
 * which wraps each listener in a closure, since each event comes once.
 * @param closing the emitter whose "close" means the client went away.
 * @param body the emitter of the request body's "data" and "end".
 */
export function routeCallEvents(call: CallEvents, closing: EventEmitter, body: EventEmitter): void {
  (closing as Carrier)[callOf] = call;
  (body as Carrier)[callOf] = call;
  closing.on("close", onClose);
  body.on("data", onData);
  body.on("end", onEnd);
}

function onClose(this: Carrier): void {
  this[callOf]?.closed();
}

function onData(this: Carrier, chunk: Buffer): void {
  this[callOf]?.data(chunk);
}

function onEnd(this: Carrier): void {
  this[callOf]?.end();
}

/**
 * What every unary call served without connect-node shares: it reads its
 * body up to a limit, runs once the body is complete, and ends once, by an
 * answer, a failure, its deadline or the client going away; a client that
 * goes away is recorded as canceled.
 * @typeParam A what {@link run} hands to {@link answer}.
 */
export abstract class UnaryCall<A> implements CallEvents {
  /** Whether the call has ended; nothing is answered after. */
  protected done = false;
  /** The call as metrics and logs record it. */
  protected readonly call: CallRecord;
  /** The call's context, with its deadline. */
  protected readonly ctx: LightCallContext;
  private readonly chunks: Buffer[] = [];
  private received = 0;

  /**
   * @param pipeline where the call is recorded.
   * @param admitted the call as the gate let it in.
   * @param maxBodyBytes the largest request body read; a larger one ends the
   *   call with {@link bodyTooLarge} without being kept.
   */
  constructor(
    protected readonly pipeline: CallPipeline,
    admitted: AdmittedCall,
    private readonly maxBodyBytes: number,
  ) {
    this.call = admitted.record;
    this.ctx = admitted.ctx;
  }

  /** Arms the deadline, only for calls that have one. */
  startTimer(): void {
    this.ctx.armDeadline((err) => this.fail(err));
  }

  /** The client went away (or the exchange closed after the answer). */
  closed(): void {
    if (!this.finish()) return;
    this.ctx.clientGone();
    this.pipeline.canceled(this.call);
  }

  /** A chunk of the request body. */
  data(chunk: Buffer): void {
    if (this.done) return;
    this.received += chunk.length;
    if (this.received > this.maxBodyBytes) {
      this.chunks.length = 0;
      this.bodyTooLarge();
      return;
    }
    this.chunks.push(chunk);
  }

  /** The request body is complete: runs the call and answers. */
  end(): void {
    if (this.done) return;
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.received);
    this.chunks.length = 0;
    this.run(body)
      .then(
        (answer) => this.answer(answer),
        (err: unknown) => this.fail(err),
      )
      // Only reachable if recording an answered call threw: the client has
      // its answer, and the process must not die of an unhandled rejection.
      .catch((err: unknown) => this.fail(err));
  }

  /** Runs the call on its complete body; undefined if it ended meanwhile. */
  protected abstract run(body: Buffer): Promise<A | undefined>;

  /** Answers what {@link run} produced, unless the call has ended. */
  protected abstract answer(answer: A | undefined): void;

  /** Ends the call because its body passed the limit. */
  protected abstract bodyTooLarge(): void;

  /** Ends the call with `err`, answered as the protocol answers errors. */
  protected abstract fail(err: unknown): void;

  /** Ends the call; false if it had already ended. */
  protected finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.ctx.disarm();
    return true;
  }
}

/** A call that the request gate let in. */
export interface AdmittedCall {
  /** The call as metrics and logs record it. */
  readonly record: CallRecord;
  /** Its context: the caller's namespace and the deadline. */
  readonly ctx: LightCallContext;
}

/** A call let in by the request gate, or the error that refused it. */
export type Admission = AdmittedCall | { readonly refused: ConnectError };

/**
 * Runs the request gate for a call that routes itself, before its body is
 * read (as connect-node does), so that a refused call is never parsed.
 * @param method the method's name, e.g. "Get".
 * @param protocol the protocol label of metrics and logs.
 * @param headers the request headers (HTTP/1.1 and HTTP/2 share the shape).
 * @param started `performance.now()` when the call arrived.
 * @param timeoutMs reads the call's timeout, in ms; it may throw for a malformed one.
 */
export function admitCall(
  pipeline: CallPipeline,
  method: string,
  protocol: string,
  headers: IncomingHttpHeaders,
  started: number,
  timeoutMs: () => number | undefined,
): Admission {
  try {
    const caller = pipeline.resolveCaller(method, (h) => headerValue(headers, h));
    const ms = timeoutMs();
    const ctx = new LightCallContext(caller.namespace, ms === undefined ? undefined : started + ms);
    return { record: { service: CacheService.typeName, method, protocol, started, namespace: caller.namespace }, ctx };
  } catch (err) {
    const record: CallRecord = { service: CacheService.typeName, method, protocol, started, namespace: undefined };
    return { refused: pipeline.failed(record, err) };
  }
}

/** One request header as a string, repeated values joined as HTTP joins them; null when absent. */
function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * An "error" listener that drops the error: a socket error on a call's
 * stream or response also closes it, which the call handles as the client
 * going away, and an emitter without an "error" listener would crash the
 * process instead.
 */
export function ignoreError(): void {}
