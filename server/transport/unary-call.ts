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

/** A call let in by the request gate, or the error that refused it. */
export type Admission =
  | { readonly record: CallRecord; readonly ctx: LightCallContext }
  | { readonly refused: ConnectError };

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
