import * as http from "node:http";
import * as https from "node:https";
import { fromBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { codeFromHttpStatus, errorFromJsonBytes, parseContentType, trailerDemux } from "@connectrpc/connect/protocol-connect";
import { networkErrorCode } from "./network-errors.js";
import { lazyResponse, unaryOnlyTransport, type ClosableTransport, type UnaryRequest } from "./unary-transport.js";
import { webHeaders } from "./web-headers.js";
import type { TlsOptions } from "./options.js";

/** Options of {@link createUnaryConnectTransport}. */
export interface UnaryConnectTransportOptions {
  /** The server, e.g. `"http://localhost:8080"`; `https:` uses TLS. Required. */
  baseUrl: string;
  /**
   * Largest response body accepted, in bytes; a bigger one fails the call
   * with RESOURCE_EXHAUSTED. Default 0xffffffff, connect-node's.
   */
  readMaxBytes?: number;
  /** CA and client certificate for `https:`. Default: the system roots, no client certificate. */
  tls?: TlsOptions;
}

const defaultReadMaxBytes = 0xffffffff;
const userAgent = `larder-sdk-ts node/${process.versions.node}`;
/** What a call's headers may be given as; `HeadersInit` of the fetch API. */
type HeaderInit = Parameters<ClosableTransport["unary"]>[3];

/**
 * A Connect-protocol transport for unary calls over HTTP/1.1, written
 * directly against node:http and node:https.
 *
 * connect-node's client runs each unary call through its generic machinery
 * (async iterables over the body, a sentinel with abort plumbing, web
 * Headers both ways), which costs several times the client CPU of the call
 * itself. A unary Connect call is one POST with a protobuf body and one
 * response body back. This sends the body and headers connect-node sends
 * with its default binary format, except that it offers no response
 * compression (neither does the gRPC transport), and maps failures to the
 * same ConnectErrors, leaving retries and error mapping above this layer
 * unchanged; connection failures are UNAVAILABLE. Connections are
 * kept alive in a private agent, so close() can destroy them without
 * touching the process-wide global agent. Streaming methods are refused; the
 * cache service has none.
 *
 * @param options where the server is.
 */
export function createUnaryConnectTransport(options: UnaryConnectTransportOptions): ClosableTransport {
  const url = new URL(options.baseUrl);
  const secure = url.protocol === "https:";
  const agent = secure ? new https.Agent({ keepAlive: true, ...options.tls }) : new http.Agent({ keepAlive: true });
  const target: Target = {
    request: secure ? https.request : http.request,
    agent,
    // Brackets are part of an IPv6 host in a URL, not of the address to dial.
    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    // connect's createMethodUrl keeps a base path and drops a trailing slash.
    basePath: url.pathname.replace(/\/$/, ""),
    readMaxBytes: options.readMaxBytes ?? defaultReadMaxBytes,
  };
  return unaryOnlyTransport(
    (request, body) => unaryCall(target, request, body),
    () => agent.destroy(),
  );
}

/** Where and how a transport's requests go, worked out once rather than per call. */
interface Target {
  readonly request: typeof http.request;
  readonly agent: http.Agent;
  readonly hostname: string;
  readonly port: number;
  readonly basePath: string;
  readonly readMaxBytes: number;
}

/** One unary call: a single POST, then the answer or a ConnectError. */
function unaryCall<I extends DescMessage, O extends DescMessage>(
  target: Target,
  request: UnaryRequest<I, O>,
  body: Uint8Array,
): Promise<UnaryResponse<I, O>> {
  const { method, signal, timeoutMs, header } = request;
  // connect treats a deadline of 0 or less as none.
  const deadline = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;

  return new Promise<UnaryResponse<I, O>>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let req: http.ClientRequest | undefined;
    /** Whether the whole response arrived, handing the socket back to the agent. */
    let complete = false;

    const finish = (error: ConnectError | undefined, message?: UnaryResponse<I, O>): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error !== undefined) {
        // HTTP/1.1 cannot cancel one request and keep its connection, so a
        // call given up on takes its socket with it; a finished one is
        // already back in the agent's pool.
        if (req !== undefined && !complete) req.destroy();
        reject(error);
      } else if (message !== undefined) {
        resolve(message);
      }
    };
    const onAbort = (): void => finish(ConnectError.from(signal?.reason, Code.Canceled));
    signal?.addEventListener("abort", onAbort);
    if (deadline !== undefined) {
      // The server enforces connect-timeout-ms too; this timer covers a
      // server that never answers and the network time it cannot see.
      timer = setTimeout(() => finish(new ConnectError("the operation timed out", Code.DeadlineExceeded)), deadline);
    }

    try {
      req = target.request({
        agent: target.agent,
        hostname: target.hostname,
        port: target.port,
        method: "POST",
        path: `${target.basePath}/${method.parent.typeName}/${method.name}`,
        headers: requestHeadersOf(deadline, header, body.byteLength),
      });
    } catch (err) {
      finish(connectErrorOf(err));
      return;
    }
    req.on("error", (err) => finish(connectErrorOf(err)));
    req.on("response", (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      let received = 0;
      const lengthHint = contentLengthOf(res);
      if (lengthHint !== undefined && lengthHint > target.readMaxBytes) {
        finish(tooLarge(lengthHint, target.readMaxBytes));
        return;
      }
      res.on("data", (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received > target.readMaxBytes) {
          finish(tooLarge(received, target.readMaxBytes));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", (err) => finish(connectErrorOf(err)));
      res.on("close", () => {
        if (!complete) finish(new ConnectError("connection closed before the response was complete", Code.Unavailable));
      });
      res.on("end", () => {
        complete = true;
        if (settled) return;
        if (lengthHint !== undefined && received !== lengthHint) {
          finish(new ConnectError(`protocol error: promised ${lengthHint} bytes, received ${received}`, Code.InvalidArgument));
          return;
        }
        const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
        const outcome = responseOf(method, res, data);
        if (outcome instanceof ConnectError) finish(outcome);
        else finish(undefined, outcome);
      });
    });
    req.end(body);
  });
}

/** The request's headers: the caller's, then Connect's over them, as connect does. */
function requestHeadersOf(timeoutMs: number | undefined, header: HeaderInit, length: number): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  if (header !== undefined) {
    // The cache passes a plain record. Headers and pair lists are iterable;
    // telling them apart without naming the global Headers spares loading
    // undici's fetch on a function's cold start.
    const entries = Symbol.iterator in header ? (header as Iterable<[string, string]>) : Object.entries(header);
    for (const [k, v] of entries) out[k.toLowerCase()] = v as string;
  }
  // The Connect spec allows at most 10 digits.
  if (timeoutMs !== undefined) out["connect-timeout-ms"] = String(Math.min(9999999999, Math.ceil(timeoutMs)));
  out["content-type"] = "application/proto";
  out["connect-protocol-version"] = "1";
  out["content-length"] = length;
  out["user-agent"] ??= userAgent;
  return out;
}

/** The content-length a response promised, if it gave a valid one. */
function contentLengthOf(res: http.IncomingMessage): number | undefined {
  const value = res.headers["content-length"];
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function tooLarge(size: number, readMaxBytes: number): ConnectError {
  return new ConnectError(`message size ${size} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
}

/**
 * The call's outcome from a complete response, judged in connect's order:
 * encoding, then status (with a JSON error body if there is one), then
 * content type, then the message.
 */
function responseOf<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  res: http.IncomingMessage,
  data: Buffer,
): UnaryResponse<I, O> | ConnectError {
  const status = res.statusCode ?? 0;
  const mimeType = res.headers["content-type"];
  const encoding = res.headers["content-encoding"];
  // No compression is offered, so none may come back.
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    return new ConnectError(`unsupported response encoding "${encoding}"`, Code.Internal, webHeaders(res.headers));
  }
  const parsedType = parseContentType(mimeType ?? null);
  if (status !== 200) {
    const fromStatus = new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status), webHeaders(res.headers));
    if (parsedType === undefined || parsedType.binary) return fromStatus;
    const [h, t] = trailerDemux(webHeaders(res.headers));
    t.forEach((value, key) => h.append(key, value));
    try {
      return errorFromJsonBytes(data, h, fromStatus);
    } catch (err) {
      // errorFromJsonBytes throws its fallback when the body is not a Connect error.
      return ConnectError.from(err, Code.Internal);
    }
  }
  if (parsedType?.binary !== true || parsedType.stream) {
    return new ConnectError(
      `unsupported content type ${String(mimeType)}`,
      parsedType === undefined ? Code.Unknown : Code.Internal,
      webHeaders(res.headers),
    );
  }
  let message;
  try {
    message = fromBinary(method.output, data);
  } catch (err) {
    const m = err instanceof Error ? err.message : String(err);
    return new ConnectError(`parse binary: ${m}`, Code.Internal);
  }
  // Connect sends a unary call's trailers as "trailer-" prefixed headers.
  let split: [Headers, Headers] | undefined;
  const demux = (): [Headers, Headers] => (split ??= trailerDemux(webHeaders(res.headers)));
  return lazyResponse(method, message, () => demux()[0], () => demux()[1]);
}

/** A request or response failure as a ConnectError. */
function connectErrorOf(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const ce = ConnectError.from(err, networkErrorCode(err));
  if (ce !== err) ce.cause = err;
  return ce;
}
