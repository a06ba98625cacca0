import type { EventEmitter } from "node:events";

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
