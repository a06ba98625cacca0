/**
 * What the two lean transports share: the request's bytes, the shape of a
 * transport that makes unary calls only, and its responses.
 */

import { create, isMessage, toBinary, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport, type UnaryResponse } from "@connectrpc/connect";

/**
 * The bytes of a unary call's request, or the error that the call fails
 * with before anything is sent: the caller already gave up, or the request
 * cannot be serialized.
 */
function requestBytes<I extends DescMessage, O extends DescMessage>(request: UnaryRequest<I, O>): Uint8Array | ConnectError {
  const { method, input, signal } = request;
  if (signal?.aborted === true) return ConnectError.from(signal.reason, Code.Canceled);
  try {
    const message = isMessage(input, method.input) ? input : create(method.input, input);
    return toBinary(method.input, message);
  } catch (err) {
    return new ConnectError(`serialize binary: ${err instanceof Error ? err.message : String(err)}`, Code.Internal);
  }
}

/** A transport whose connections can be released. */
export interface ClosableTransport extends Transport {
  /** Closes the transport's connections; later calls open new ones. */
  close(): void;
}

/** Sends one unary call whose request is already serialized. */
export type SendUnary = <I extends DescMessage, O extends DescMessage>(request: UnaryRequest<I, O>, body: Uint8Array) => Promise<UnaryResponse<I, O>>;

/**
 * A transport of unary calls only (every cache RPC is unary): it
 * serializes each request, fails a call the caller already gave up on, and
 * hands the rest to `send`; `close` releases the connections.
 */
export function unaryOnlyTransport(send: SendUnary, close: () => void): ClosableTransport {
  return {
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: UnaryRequest<I, O>["header"],
      input: MessageInitShape<I>,
    ): Promise<UnaryResponse<I, O>> {
      const request: UnaryRequest<I, O> = { method, signal, timeoutMs, header, input };
      const body = requestBytes(request);
      return body instanceof ConnectError ? Promise.reject(body) : send(request, body);
    },
    stream() {
      return Promise.reject(new ConnectError("streaming calls are not supported by this transport", Code.Unimplemented));
    },
    close,
  };
}

/** One unary call as a transport is asked to make it. */
export interface UnaryRequest<I extends DescMessage, O extends DescMessage> {
  readonly method: DescMethodUnary<I, O>;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  readonly header: Parameters<Transport["unary"]>[3];
  readonly input: MessageInitShape<I>;
}

/**
 * A UnaryResponse whose web Headers are only built if someone reads them
 * (most callers never do).
 * @param headers builds the response headers; called once at most.
 * @param trailers builds the trailers; called once at most.
 */
export function lazyResponse<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  message: UnaryResponse<I, O>["message"],
  headers: () => Headers,
  trailers: () => Headers,
): UnaryResponse<I, O> {
  let h: Headers | undefined;
  let t: Headers | undefined;
  return {
    stream: false,
    service: method.parent,
    method,
    message,
    get header() {
      return (h ??= headers());
    },
    get trailer() {
      return (t ??= trailers());
    },
  };
}
