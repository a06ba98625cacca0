import * as http2 from "node:http2";
import { checkResponse, grpcFrame, type EncodedRequest, type Op } from "./payloads.js";

/** What one raw gRPC call came back with. */
export interface GrpcReply {
  readonly httpStatus: number;
  /** The grpc-status trailer (or header, for a trailers-only answer); NaN if absent. */
  readonly grpcStatus: number;
  readonly grpcMessage: string;
  /** The first response message, without its 5-byte prefix. */
  readonly message: Uint8Array;
}

/**
 * Makes unary gRPC calls one after another over one fresh h2c connection,
 * with exactly the headers and body that h2load will send, so that what is
 * checked is what h2load measures (h2load only sees HTTP 200, never
 * grpc-status).
 */
export async function grpcCalls(baseUrl: string, requests: readonly EncodedRequest[], timeoutMs = 5000): Promise<GrpcReply[]> {
  // An https target serves the bench's own throwaway certificate.
  const session = http2.connect(baseUrl, baseUrl.startsWith("https:") ? { rejectUnauthorized: false } : {});
  const failed = new Promise<never>((_, reject) => session.once("error", reject));
  failed.catch(() => {});
  try {
    const replies: GrpcReply[] = [];
    for (const request of requests) replies.push(await Promise.race([callOn(session, request, timeoutMs), failed]));
    return replies;
  } finally {
    session.close();
  }
}

/** One call of {@link grpcCalls}. */
export async function grpcCall(baseUrl: string, request: EncodedRequest): Promise<GrpcReply> {
  const [reply] = await grpcCalls(baseUrl, [request]);
  if (reply === undefined) throw new Error("no reply");
  return reply;
}

function callOn(session: http2.ClientHttp2Session, request: EncodedRequest, timeoutMs: number): Promise<GrpcReply> {
  return new Promise<GrpcReply>((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": request.path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no answer to ${request.path} within ${timeoutMs} ms`));
    }, timeoutMs);
    let httpStatus = 0;
    let grpcStatus = Number.NaN;
    let grpcMessage = "";
    const chunks: Buffer[] = [];
    const readStatus = (headers: http2.IncomingHttpHeaders): void => {
      const status = headers["grpc-status"];
      if (typeof status === "string") grpcStatus = Number(status);
      const message = headers["grpc-message"];
      if (typeof message === "string") grpcMessage = decodeURIComponent(message);
    };
    stream.on("response", (headers) => {
      httpStatus = Number(headers[":status"]);
      readStatus(headers);
    });
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on("end", () => {
      clearTimeout(timer);
      const body = Buffer.concat(chunks);
      const length = body.length >= 5 ? body.readUInt32BE(1) : 0;
      resolve({ httpStatus, grpcStatus, grpcMessage, message: body.subarray(5, 5 + length) });
    });
    stream.end(grpcFrame(request.binary));
  });
}

/** Describes a reply that is not HTTP 200 with grpc-status 0, or returns undefined. */
export function replyProblem(reply: GrpcReply): string | undefined {
  if (reply.httpStatus === 200 && reply.grpcStatus === 0) return undefined;
  return `HTTP ${reply.httpStatus}, grpc-status ${reply.grpcStatus}` + (reply.grpcMessage === "" ? "" : ` (${reply.grpcMessage})`);
}

/**
 * Checks that a request frame gets grpc-status 0 and the answer the op
 * expects; throws with the reason otherwise. Run before every timed run.
 */
export async function verifyGrpc(baseUrl: string, op: Op, valueBytes: number, request: EncodedRequest): Promise<void> {
  const reply = await grpcCall(baseUrl, request);
  const problem = replyProblem(reply) ?? checkResponse(op, valueBytes, reply.message);
  if (problem !== undefined) throw new Error(`${request.path} on ${baseUrl}: ${problem}`);
}
