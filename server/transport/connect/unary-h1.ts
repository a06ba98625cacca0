import type * as http from "node:http";
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { CacheService } from "../../gen/larder/v1/cache_pb.js";
import { unaryMethods, type UnaryMethod } from "../../service/methods.js";
import { admitCall, ignoreError, routeCallEvents, UnaryCall, type AdmittedCall, type UnaryPathOptions } from "../unary-call.js";

/**
 * Takes an HTTP/1.1 request if it is one the fast path serves, and answers
 * it; returns false, without touching either object, for every other request.
 */
export type Http1RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** Options of {@link createConnectUnaryH1}. */
export type ConnectUnaryH1Options = UnaryPathOptions;

const prefix = `/${CacheService.typeName}/`;
// connect-node's unary Content-Types; group 1 is set for JSON.
const unaryType = /^application\/(?:(json)(?:; ?charset=utf-?8)?|proto)$/i;
const timeoutValue = /^\d{1,10}$/;
const typeJson = "application/json";
const typeProto = "application/proto";
// What connect-node's adapter accepts and answers with by default, and from
// which size it compresses an answer.
const compressions = [compressionGzip, compressionBrotli] as const;
type Compression = (typeof compressions)[number];
const compressMinBytes = 1024;
// connect-node's default JSON options: unknown request fields are ignored.
const jsonReadOptions = { ignoreUnknownFields: true };
// TextDecoder as connect-node decodes: a leading BOM is dropped, bad bytes become U+FFFD.
const decoder = new TextDecoder();

/**
 * Serves Connect unary calls to `larder.v1.CacheService` over HTTP/1.1
 * (`curl -d '{"key":"k"}'`) on node:http's request and response, without
 * connect-node's universal request, async iterables and AbortController per
 * call. Answers are the bytes connect-node sends: the same JSON and binary
 * serialization, error bodies, HTTP statuses and response compression. The
 * caller, errors, metrics and logs go through the same {@link CallPipeline}
 * as every other transport.
 *
 * Served: POST of `application/json` (optionally with charset=utf-8) or
 * `application/proto` to a unary method, with an identity body,
 * `connect-protocol-version` absent or "1" and a well-formed
 * `connect-timeout-ms`, if any. Everything else (GET requests, compressed
 * bodies, unknown methods, malformed protocol headers, other services) is
 * left to connect-node, which answers it as it always did.
 */
export function createConnectUnaryH1(options: ConnectUnaryH1Options): Http1RequestHandler {
  const methods = unaryMethods(options.service);
  return (req, res) => {
    if (req.method !== "POST") return false;
    const path = req.url;
    if (path === undefined || !path.startsWith(prefix)) return false;
    // Unknown methods and paths with a query are connect-node's router's to answer.
    const method = methods.get(path);
    if (method === undefined) return false;
    const headers = req.headers;
    const type = headers["content-type"];
    const format = type === undefined ? null : unaryType.exec(type);
    if (format === null) return false;
    const encoding = headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const version = headers["connect-protocol-version"];
    if (version !== undefined && version !== "1") return false;
    const timeout = headers["connect-timeout-ms"];
    if (timeout !== undefined && (typeof timeout !== "string" || !timeoutValue.test(timeout))) return false;
    serve(req, res, method, format[1] === undefined, timeout, options);
    return true;
  };
}

/** Starts one call: the gate, the declared size, then the body's events routed to an {@link H1Call}. */
function serve(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  method: UnaryMethod,
  binary: boolean,
  timeout: string | undefined,
  options: ConnectUnaryH1Options,
): void {
  const started = performance.now();
  const headers = req.headers;
  const compression = negotiate(headers["accept-encoding"]);
  req.on("error", ignoreError);
  res.on("error", ignoreError);
  const admitted = admitCall(options.pipeline, method.desc.name, "connect", headers, started, () =>
    timeout === undefined ? undefined : Number(timeout),
  );
  if ("refused" in admitted) {
    answerError(res, admitted.refused, compression, false);
    return;
  }
  const call = new H1Call(res, method, binary, compression, options, admitted);
  const length = headers["content-length"];
  if (length !== undefined && Number(length) > options.maxRequestBytes) {
    // connect-node's words, from the declared length alone.
    call.fail(new ConnectError(`message size ${length} is larger than configured readMaxBytes ${options.maxRequestBytes}`, Code.ResourceExhausted));
    return;
  }
  // The response's "close" is the one that means the client went away:
  // the request's fires once its body is read.
  routeCallEvents(call, res, req);
  call.startTimer();
}

/**
 * What a served call answers: the response message, and its serialized
 * body. A JSON body stays a string: node:http then writes it in one piece
 * with the head, without a Buffer in between.
 */
interface Answer {
  readonly message: Message;
  readonly body: Uint8Array | string;
}

/** One unary call on the HTTP/1.1 fast path, from its first byte to its answer. */
class H1Call extends UnaryCall<Answer> {
  constructor(
    private readonly res: http.ServerResponse,
    private readonly method: UnaryMethod,
    private readonly binary: boolean,
    private readonly compression: Compression | undefined,
    private readonly options: ConnectUnaryH1Options,
    admitted: AdmittedCall,
  ) {
    super(options.pipeline, admitted, options.maxRequestBytes);
  }

  protected bodyTooLarge(): void {
    // A body without a declared length could go on for ever: the
    // connection closes after the answer instead of reading the rest.
    this.fail(new ConnectError(`message size is larger than configured readMaxBytes ${this.options.maxRequestBytes}`, Code.ResourceExhausted), true);
  }

  /** Answers with the error that the pipeline records for `err`. */
  fail(err: unknown, close = false): void {
    if (this.finish()) answerError(this.res, this.pipeline.failed(this.call, err), this.compression, close);
  }

  protected async run(body: Buffer): Promise<Answer | undefined> {
    const { desc } = this.method;
    const init = await this.method.call(this.parse(body), this.ctx);
    if (this.done) return undefined;
    const message = create(desc.output, init);
    // Serialization errors as connect-node words them.
    try {
      return { message, body: this.binary ? toBinary(desc.output, message) : toJsonString(desc.output, message) };
    } catch (err) {
      if (this.binary) throw new ConnectError(`serialize binary: ${messageOf(err)}`, Code.Internal);
      throw ConnectError.from(err, Code.Internal);
    }
  }

  /** The request message, with connect-node's errors for a body that is not one. */
  private parse(body: Buffer): Message {
    const input = this.method.desc.input;
    if (this.binary) {
      try {
        return fromBinary(input, body);
      } catch (err) {
        throw new ConnectError(`parse binary: ${messageOf(err)}`, Code.Internal);
      }
    }
    try {
      return fromJsonString(input, decoder.decode(body), jsonReadOptions);
    } catch (err) {
      throw ConnectError.from(err, Code.InvalidArgument);
    }
  }

  protected answer(answer: Answer | undefined): void {
    if (answer === undefined || !this.finish()) return;
    const res = this.res;
    if (res.destroyed || res.writableEnded) {
      this.pipeline.canceled(this.call);
      return;
    }
    send(res, 200, this.binary ? typeProto : typeJson, answer.body, this.compression, false);
    this.pipeline.succeeded(this.call, answer.message);
  }
}

/** Answers a Connect error: its JSON body, with the HTTP status the Connect protocol gives its code. */
function answerError(res: http.ServerResponse, err: ConnectError, compression: Compression | undefined, close: boolean): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return;
  send(res, codeToHttpStatus(err.code), typeJson, errorToJsonBytes(err, undefined), compression, close);
}

/** Writes an answer, compressed as connect-node would compress it. */
function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: Uint8Array | string,
  compression: Compression | undefined,
  close: boolean,
): void {
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  if (compression === undefined || length < compressMinBytes) {
    write(res, status, type, body, length, undefined, close);
    return;
  }
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  compression.compress(bytes).then(
    (packed) => write(res, status, type, packed, packed.byteLength, compression.name, close),
    // zlib does not fail on a buffer in memory; should it, the answer goes out as is.
    () => write(res, status, type, bytes, length, undefined, close),
  );
}

function write(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: Uint8Array | string,
  length: number,
  encoding: string | undefined,
  close: boolean,
): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return;
  const headers: http.OutgoingHttpHeaders = { "content-type": type, "content-length": length };
  if (encoding !== undefined) headers["content-encoding"] = encoding;
  if (close) headers["connection"] = "close";
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * The compression of the answer, as connect-node picks it: the first name in
 * `accept-encoding` it supports, compared as is (no q-values). Without the
 * header an answer is compressed like the request, which here is never.
 */
function negotiate(accepted: string | undefined): Compression | undefined {
  if (accepted === undefined || accepted === "") return undefined;
  for (const name of accepted.split(",")) {
    const trimmed = name.trim();
    for (const c of compressions) if (c.name === trimmed) return c;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

