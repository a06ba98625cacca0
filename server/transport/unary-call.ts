import type { EventEmitter } from "node:events";
import type { CallPipeline, CallRecord } from "./call-pipeline.js";
import type { LightCallContext } from "./call-context.js";
import type { CacheServiceHandler } from "../service/cache-service.js";

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
 * What every unary call served without connect-node shares: it ends once,
 * by an answer, a failure, its deadline or the client going away, and a
 * client that goes away is recorded as canceled.
 */
export abstract class UnaryCall implements CallEvents {
  /** Whether the call has ended; nothing is answered after. */
  protected done = false;
  /** The request body read so far. */
  protected readonly chunks: Buffer[] = [];
  /** Bytes of request body read so far. */
  protected received = 0;

  /**
   * @param pipeline where the call is recorded.
   * @param call the call as metrics and logs record it.
   * @param ctx the call's context, with its deadline.
   */
  constructor(
    protected readonly pipeline: CallPipeline,
    protected readonly call: CallRecord,
    protected readonly ctx: LightCallContext,
  ) {}

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

  abstract data(chunk: Buffer): void;
  abstract end(): void;

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
