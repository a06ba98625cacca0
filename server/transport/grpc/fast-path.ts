import type * as http2 from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { unaryMethods, type UnaryMethod } from "../../service/methods.js";
import { CacheService } from "../../gen/larder/v1/cache_pb.js";
import { binaryEncoder } from "./binary-encoder.js";
import { bodyTooLarge, frameHeadroom, frameOf, maxBodyBytes, parseGrpcTimeout, readUnaryMessage } from "./frames.js";
import { encodeGrpcMessage } from "./message.js";
import { admitCall, ignoreError, routeCallEvents, UnaryCall, type AdmittedCall, type UnaryPathOptions } from "../unary-call.js";

/**
 * Takes an HTTP/2 stream if it is one the fast path serves, and answers it;
 * returns false, untouched, for every other stream.
 */
export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

/** Options of {@link createGrpcFastPath}. */
export type GrpcFastPathOptions = UnaryPathOptions;

const prefix = `/${CacheService.typeName}/`;
const okHeaders = { ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "gzip" };
const okTrailers = { "grpc-status": "0" };
// No Date header: gRPC clients do not read it, and it costs a formatted date
// per answer. node:http2 honours `sendDate` here although @types/node omits it.
const okOptions: http2.ServerStreamResponseOptions = { waitForTrailers: true, ...{ sendDate: false } };

/**
 * Serves unary `larder.v1.CacheService` calls over plain gRPC on node:http2's
 * stream API, without connect-node: its per-call AbortController, async
 * iterators and request/response objects were most of the CPU of a Get
 * (in CPU profiles under load). The caller, errors, metrics and logs go through
 * the same {@link CallPipeline} and the same service as every other
 * transport. gRPC-Web, Connect, other compressions and every other service
 * are left to connect-node.
 */
export function createGrpcFastPath(options: GrpcFastPathOptions): StreamHandler {
  const methods = unaryMethods(options.service);
  return (stream, headers) => {
    const type = headers["content-type"];
    if (type !== "application/grpc" && type !== "application/grpc+proto") return false;
    const path = headers[":path"];
    if (headers[":method"] !== "POST" || path === undefined || !path.startsWith(prefix)) return false;
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity" && encoding !== "gzip") return false;
    const method = methods.get(path);
    stream.on("error", ignoreError);
    if (method === undefined) {
      // What connect-node's router answers too, for a method it does not know.
      answerError(stream, new ConnectError(`${path.slice(1)} is not implemented`, Code.Unimplemented));
      return true;
    }
    serve(stream, headers, method, options);
    return true;
  };
}

/** Starts one call: the gate, then the body's events routed to a {@link FastCall}. */
function serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, method: UnaryMethod, options: GrpcFastPathOptions): void {
  const started = performance.now();
  const admitted = admitCall(options.pipeline, method.desc.name, "grpc", headers, started, () => parseGrpcTimeout(headers["grpc-timeout"]));
  if ("refused" in admitted) {
    answerError(stream, admitted.refused);
    return;
  }
  const call = new FastCall(stream, headers, method, options, admitted);
  routeCallEvents(call, stream, stream);
  call.startTimer();
}

function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(okTrailers);
}

/** What a served call answers: its frame, and the response it holds (for metrics). */
interface Answer {
  readonly frame: Buffer;
  readonly res: object;
}

/** One unary call on the fast path, from its first byte to its answer. */
class FastCall extends UnaryCall<Answer> {
  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly method: UnaryMethod,
    private readonly options: GrpcFastPathOptions,
    admitted: AdmittedCall,
  ) {
    super(options.pipeline, admitted, maxBodyBytes(options.maxRequestBytes));
  }

  protected async run(body: Buffer): Promise<Answer | undefined> {
    const { method, options } = this;
    const raw = readUnaryMessage(body, encodingOf(this.headers), options.maxRequestBytes);
    // Only a compressed body needs to wait for gunzip.
    const data = raw instanceof Promise ? await raw : raw;
    let req;
    try {
      req = fromBinary(method.desc.input, data);
    } catch (err) {
      throw new ConnectError(`parse binary: ${err instanceof Error ? err.message : String(err)}`, Code.Internal);
    }
    const init = await method.call(req, this.ctx);
    if (this.done) return undefined;
    // Encoded straight from the init shape: creating the message first cost
    // as much as encoding it (four Timestamps per entry).
    return { frame: frameOf(binaryEncoder(method.desc.output)(init, frameHeadroom)), res: init };
  }

  protected answer(answer: Answer | undefined): void {
    if (answer === undefined || !this.finish()) return;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) {
      this.pipeline.canceled(this.call);
      return;
    }
    stream.respond(okHeaders, okOptions);
    stream.once("wantTrailers", sendOkTrailers);
    stream.end(answer.frame);
    this.pipeline.succeeded(this.call, answer.res);
  }

  protected bodyTooLarge(): void {
    this.fail(bodyTooLarge(this.options.maxRequestBytes));
  }

  protected fail(err: unknown): void {
    if (this.finish()) answerError(this.stream, this.pipeline.failed(this.call, err));
  }
}

/** Answers a call with only trailers (the gRPC "trailers-only" response), as every error is. */
function answerError(stream: http2.ServerHttp2Stream, err: ConnectError): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-status": String(err.code),
      "grpc-message": encodeGrpcMessage(err.rawMessage),
    },
    { endStream: true },
  );
}

function encodingOf(headers: http2.IncomingHttpHeaders): string | undefined {
  const value = headers["grpc-encoding"];
  return typeof value === "string" ? value : undefined;
}
