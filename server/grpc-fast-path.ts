import type * as http2 from "node:http2";
import { create, fromBinary, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CallPipeline, CallRecord } from "./call-pipeline.js";
import { unaryMethods, type UnaryMethod } from "./connect-service.js";
import { LarderError } from "./errors.js";
import { CacheService } from "./gen/larder/v1/cache_pb.js";
import { binaryEncoder } from "./binary-encoder.js";
import { checkBodySize, frameHeadroom, frameOf, parseGrpcTimeout, readUnaryMessage } from "./grpc-frames.js";
import { encodeGrpcMessage } from "./grpc-message.js";
import type { CacheServiceHandler } from "./service.js";
import { LightCallContext } from "./light-call-context.js";

/**
 * Takes an HTTP/2 stream if it is one the fast path serves, and answers it;
 * returns false, untouched, for every other stream.
 */
export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

/** Options of {@link createGrpcFastPath}. */
export interface GrpcFastPathOptions {
  readonly service: CacheServiceHandler;
  /** The same gate, metrics and logs as the connect-node path. */
  readonly pipeline: CallPipeline;
  /** Largest request message, in bytes, as connect-node's readMaxBytes. */
  readonly maxRequestBytes: number;
}

const prefix = `/${CacheService.typeName}/`;
const okHeaders = { ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "gzip" };
const okTrailers = { "grpc-status": "0" };

/**
 * Serves unary `larder.v1.CacheService` calls over plain gRPC on node:http2's
 * stream API, without connect-node: its per-call AbortController, async
 * iterators and request/response objects were most of the CPU of a Get
 * (profiled in issue #7). The caller, errors, metrics and logs go through
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
    stream.on("error", ignore);
    if (method === undefined) {
      // What connect-node's router answers too, for a method it does not know.
      answerError(stream, new ConnectError(`${path.slice(1)} is not implemented`, Code.Unimplemented));
      return true;
    }
    serve(stream, headers, method, options);
    return true;
  };
}

function serve(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  method: UnaryMethod,
  { pipeline, maxRequestBytes }: GrpcFastPathOptions,
): void {
  const started = performance.now();
  const name = method.desc.name;
  let call: CallRecord = { service: CacheService.typeName, method: name, protocol: "grpc", started, namespace: undefined };
  let ctx: LightCallContext;
  try {
    const caller = pipeline.resolveCaller(name, (h) => headerValue(headers, h));
    call = { ...call, namespace: caller.namespace };
    const timeoutMs = parseGrpcTimeout(headers["grpc-timeout"]);
    ctx = new LightCallContext(caller.namespace, timeoutMs === undefined ? undefined : started + timeoutMs);
  } catch (err) {
    answerError(stream, pipeline.failed(call, err));
    return;
  }

  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (): boolean => {
    if (done) return false;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    return true;
  };
  const fail = (err: unknown): void => {
    if (finish()) answerError(stream, pipeline.failed(call, err));
  };
  const deadline = ctx.timeoutMs();
  if (deadline !== undefined) {
    timer = setTimeout(() => {
      const err = new LarderError("deadlineExceeded", "the call's deadline passed before it finished");
      ctx.abort(err);
      fail(err);
    }, Math.max(0, deadline));
  }
  stream.once("close", () => {
    if (!finish()) return;
    ctx.abort(new LarderError("unavailable", "the client went away"));
    pipeline.canceled(call);
  });

  const chunks: Buffer[] = [];
  let received = 0;
  stream.on("data", (chunk: Buffer) => {
    if (done) return;
    received += chunk.length;
    try {
      checkBodySize(received, maxRequestBytes);
      chunks.push(chunk);
    } catch (err) {
      chunks.length = 0;
      fail(err);
    }
  });
  stream.once("end", () => {
    if (done) return;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    run(body).then((answer) => {
      if (answer === undefined || !finish()) return;
      if (stream.destroyed || stream.closed) {
        pipeline.canceled(call);
        return;
      }
      stream.respond(okHeaders, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers(okTrailers));
      stream.end(answer.frame);
      pipeline.succeeded(call, answer.res);
    }, fail);
  });

  async function run(body: Buffer): Promise<{ frame: Buffer; res: Message } | undefined> {
    const data = await readUnaryMessage(body, encodingOf(headers), maxRequestBytes);
    let req;
    try {
      req = fromBinary(method.desc.input, data);
    } catch (err) {
      throw new ConnectError(`parse binary: ${err instanceof Error ? err.message : String(err)}`, Code.Internal);
    }
    const init = await method.call(req, ctx);
    if (done) return undefined;
    const res = create(method.desc.output, init);
    return { frame: frameOf(binaryEncoder(method.desc.output)(res, frameHeadroom)), res };
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

function headerValue(headers: http2.IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}

function ignore(): void {}
