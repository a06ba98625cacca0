import * as http2 from "node:http2";
import { fromBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { UnaryResponse } from "@connectrpc/connect";
import { codeFromHttpStatus, findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { networkErrorCode } from "./network-errors.js";
import { lazyResponse, unaryOnlyTransport, type ClosableTransport, type UnaryRequest } from "./unary-transport.js";
import { webHeaders } from "./web-headers.js";
import type { TlsOptions } from "./options.js";

/** Options of {@link createUnaryGrpcTransport}. */
export interface UnaryGrpcTransportOptions {
  /** The server, e.g. `"http://localhost:8080"`; `https:` negotiates HTTP/2 over TLS. Required. */
  baseUrl: string;
  /**
   * Largest response message accepted, in bytes; a bigger one fails the
   * call with RESOURCE_EXHAUSTED. Default 0xffffffff, connect-node's.
   */
  readMaxBytes?: number;
  /**
   * A connection unused for this long is replaced on the next call rather
   * than trusted, since a middlebox may have dropped it silently. Default
   * 15 minutes, connect-node's.
   */
  idleConnectionTimeoutMs?: number;
  /** CA and client certificate for `https:`. Default: the system roots, no client certificate. */
  tls?: TlsOptions;
}

/** A {@link Transport} that can also drop its connection. */

const defaultReadMaxBytes = 0xffffffff;
const defaultIdleConnectionTimeoutMs = 15 * 60 * 1000;
const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE, NGHTTP2_CANCEL } = http2.constants;
/** What a call's headers may be given as; `HeadersInit` of the fetch API. */
type HeaderInit = Parameters<Transport["unary"]>[3];

const userAgent = `larder-sdk-ts node/${process.versions.node}`;

/**
 * A gRPC transport for unary calls written directly against node:http2.
 *
 * connect-node's gRPC client runs every unary call through its generic
 * streaming machinery (async iterables, linked abort controllers, web
 * Headers, a ConnectError with a stack trace even on success), which costs
 * hundreds of microseconds of client CPU per call. A unary call needs none
 * of it: one HEADERS frame with one DATA frame out, one message and the
 * trailers back. Errors still surface as ConnectErrors with the same codes,
 * so retries and error mapping above this layer are unchanged. Streaming
 * methods are refused; the cache service has none.
 *
 * @param options where the server is.
 */
export function createUnaryGrpcTransport(options: UnaryGrpcTransportOptions): ClosableTransport {
  const sessions = new SessionHolder(options.baseUrl, options.idleConnectionTimeoutMs ?? defaultIdleConnectionTimeoutMs, options.tls ?? {});
  const readMaxBytes = options.readMaxBytes ?? defaultReadMaxBytes;
  return unaryOnlyTransport(
    (request, body) => unaryCall(sessions, readMaxBytes, request, body),
    () => sessions.close(),
  );
}

/** One HTTP/2 connection and what its calls need to know about it. */
interface Connection {
  readonly session: http2.ClientHttp2Session;
  /** Calls in flight on it. */
  active: number;
  /** Why it failed, for the calls it takes down with it: a stream only says "cancelled". */
  failure: Error | undefined;
}

/**
 * The one HTTP/2 connection of a transport, opened on first use and
 * replaced once it closes, fails, is told to go away or sat idle too long.
 * It is unref'd while no call is in flight so that an idle cache never
 * keeps a function's process alive.
 */
class SessionHolder {
  private current: Connection | undefined;
  /** When the last call ended, in performance.now() time. */
  private idleSince = 0;

  constructor(
    private readonly url: string,
    private readonly idleTimeoutMs: number,
    private readonly tls: TlsOptions,
  ) {}

  /** The connection for a new call, counted as busy until {@link end}. */
  begin(): Connection {
    let conn = this.current;
    if (conn !== undefined && conn.active === 0 && performance.now() - this.idleSince >= this.idleTimeoutMs) {
      conn.session.close();
      conn = undefined;
    }
    if (conn === undefined || conn.session.closed || conn.session.destroyed) conn = this.connect();
    if (conn.active++ === 0) conn.session.ref();
    return conn;
  }

  end(conn: Connection): void {
    if (--conn.active === 0) {
      this.idleSince = performance.now();
      if (!conn.session.destroyed) conn.session.unref();
    }
  }

  close(): void {
    this.current?.session.destroy();
    this.current = undefined;
  }

  private connect(): Connection {
    // TLS settings only matter for https:, and node ignores them otherwise.
    const session = http2.connect(this.url, this.tls);
    const conn: Connection = { session, active: 0, failure: undefined };
    this.current = conn;
    const drop = (): void => {
      if (this.current === conn) this.current = undefined;
    };
    session.on("error", (err: Error) => {
      conn.failure = err;
      drop();
    });
    // Calls already sent on a connection that received GOAWAY may still
    // finish; new ones must go to a fresh one.
    session.on("goaway", drop);
    session.on("close", drop);
    session.unref();
    return conn;
  }
}

/** One unary call: a single framed message out, then the answer or a ConnectError. */
function unaryCall<I extends DescMessage, O extends DescMessage>(
  sessions: SessionHolder,
  readMaxBytes: number,
  request: UnaryRequest<I, O>,
  body: Uint8Array,
): Promise<UnaryResponse<I, O>> {
  const { method, signal, timeoutMs, header } = request;
  const frame = Buffer.allocUnsafe(5 + body.byteLength);
  frame[0] = 0;
  frame.writeUInt32BE(body.byteLength, 1);
  frame.set(body, 5);
  const requestHeaders = requestHeadersOf(method, timeoutMs, header);

  return new Promise<UnaryResponse<I, O>>((resolve, reject) => {
    const conn = sessions.begin();
    let stream: http2.ClientHttp2Stream;
    try {
      stream = conn.session.request(requestHeaders, { endStream: false });
    } catch (err) {
      sessions.end(conn);
      reject(connectErrorOf(err, undefined));
      return;
    }
    let responseHeaders: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    const finish = (error: ConnectError | undefined, message?: UnaryResponse<I, O>): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      sessions.end(conn);
      if (error !== undefined) {
        if (!stream.closed) stream.close(NGHTTP2_CANCEL);
        reject(error);
      } else if (message !== undefined) {
        resolve(message);
      }
    };
    const onAbort = (): void => finish(ConnectError.from(signal?.reason, Code.Canceled));
    signal?.addEventListener("abort", onAbort);
    if (timeoutMs !== undefined && timeoutMs > 0) {
      // The server enforces grpc-timeout too; this timer covers a server
      // that never answers and the network time the server cannot see.
      timer = setTimeout(() => finish(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    }

    stream.on("response", (h) => {
      responseHeaders = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (chunk: Buffer) => {
      received += chunk.byteLength;
      if (received > readMaxBytes + 5) {
        finish(new ConnectError(`message is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
        return;
      }
      chunks.push(chunk);
    });
    stream.on("error", (err) => finish(connectErrorOf(err, conn.failure, stream.rstCode)));
    stream.on("close", () => {
      if (settled) return;
      if (responseHeaders === undefined) {
        finish(connectErrorOf(undefined, conn.failure, stream.rstCode));
        return;
      }
      const outcome = responseOf(method, responseHeaders, trailers, chunks, received);
      if (outcome instanceof ConnectError) finish(outcome);
      else finish(undefined, outcome);
    });
    stream.end(frame);
  });
}

/** The request's HTTP/2 headers: gRPC's, the deadline, then the caller's. */
function requestHeadersOf(
  method: DescMethodUnary,
  timeoutMs: number | undefined,
  header: HeaderInit,
): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": `/${method.parent.typeName}/${method.name}`,
    "content-type": "application/grpc+proto",
    te: "trailers",
    "user-agent": userAgent,
  };
  if (timeoutMs !== undefined && timeoutMs > 0) {
    // gRPC allows at most 8 digits per unit; past that, whole seconds.
    out["grpc-timeout"] = timeoutMs < 1e8 ? `${Math.ceil(timeoutMs)}m` : `${Math.min(99999999, Math.ceil(timeoutMs / 1000))}S`;
  }
  if (header !== undefined) {
    // The cache passes a plain record. Headers and pair lists are iterable;
    // telling them apart without naming the global Headers spares loading
    // undici's fetch on a function's cold start.
    const entries = Symbol.iterator in header ? (header as Iterable<[string, string]>) : Object.entries(header);
    for (const [k, v] of entries) out[k.toLowerCase()] = v as string;
  }
  return out;
}

/** The call's outcome from what came back: the message, or the error. */
function responseOf<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  headers: http2.IncomingHttpHeaders,
  trailers: http2.IncomingHttpHeaders | undefined,
  chunks: Buffer[],
  received: number,
): UnaryResponse<I, O> | ConnectError {
  // Node hands :status over as a number, whatever the typings say.
  const status = headers[HTTP2_HEADER_STATUS] as unknown;
  const type = headers[HTTP2_HEADER_CONTENT_TYPE];
  if (status !== 200 || typeof type !== "string" || !type.startsWith("application/grpc")) {
    const code = typeof status === "number" && status !== 200 ? codeFromHttpStatus(status) : Code.Unknown;
    return new ConnectError(`HTTP ${String(status)}, content-type ${String(type)}`, code);
  }
  // A trailers-only response carries its status in the headers.
  const final = trailers ?? headers;
  if (final["grpc-status"] !== "0") {
    return findTrailerError(webHeaders(final)) ?? new ConnectError("protocol error: missing grpc-status", Code.Unknown);
  }
  const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
  if (data.byteLength < 5) return new ConnectError("protocol error: missing response message", Code.Unimplemented);
  if ((data[0] ?? 0) & 1) return new ConnectError("protocol error: compressed response without negotiation", Code.Internal);
  const length = data.readUInt32BE(1);
  if (data.byteLength !== 5 + length) return new ConnectError("protocol error: expected exactly one response message", Code.Unimplemented);
  let message;
  try {
    message = fromBinary(method.output, data.subarray(5));
  } catch (err) {
    return ConnectError.from(err, Code.Internal);
  }
  return lazyResponse(method, message, () => webHeaders(headers), () => webHeaders(final));
}

/**
 * A stream failure as a ConnectError, preferring the session's error since
 * it says why (e.g. ECONNREFUSED) where the stream only says it was cancelled.
 */
function connectErrorOf(err: unknown, sessionError: Error | undefined, rstCode?: number): ConnectError {
  // A stream reset by the peer is judged by its code, as connect-node does.
  const reset = sessionError === undefined && (err === undefined || (err as { code?: unknown }).code === "ERR_HTTP2_STREAM_ERROR");
  const reason = reset ? undefined : (sessionError ?? err);
  if (reason instanceof ConnectError) return reason;
  if (reason !== undefined) {
    return ConnectError.from(reason, networkErrorCode(reason));
  }
  switch (rstCode) {
    case http2.constants.NGHTTP2_REFUSED_STREAM:
    case undefined:
      return new ConnectError("http/2 stream closed before a response", Code.Unavailable);
    case http2.constants.NGHTTP2_CANCEL:
      return new ConnectError("http/2 stream cancelled", Code.Canceled);
    case http2.constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return new ConnectError("http/2 stream closed: ENHANCE_YOUR_CALM", Code.ResourceExhausted);
    default:
      return new ConnectError(`http/2 stream closed with error code 0x${rstCode.toString(16)}`, Code.Internal);
  }
}
