import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { DualHandler } from "../listener.js";

/**
 * Re-encodes the `grpc-message` trailer the way the gRPC spec asks: only
 * bytes outside printable ASCII, and `%`, are percent-encoded. connect-node
 * uses encodeURIComponent, which also encodes `:` and `/`; grpc-js decodes
 * with decodeURI, which leaves those escaped, so its users would read
 * "key%3A must not be empty". Spec-minimal encoding reads the same in every
 * client.
 */
export function withSpecGrpcMessage(handler: DualHandler): DualHandler {
  return (req, res) => {
    const type = req.headers["content-type"];
    if (typeof type === "string" && type.startsWith("application/grpc") && !type.startsWith("application/grpc-web")) {
      const target = res as http.ServerResponse | http2.Http2ServerResponse;
      const addTrailers = target.addTrailers.bind(target) as (headers: http.OutgoingHttpHeaders) => void;
      target.addTrailers = (headers: http.OutgoingHttpHeaders) => {
        const message = headers["grpc-message"];
        if (typeof message === "string") headers["grpc-message"] = reencode(message);
        addTrailers(headers);
      };
    }
    handler(req, res);
  };
}

function reencode(message: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(message);
  } catch {
    return message;
  }
  return encodeGrpcMessage(decoded);
}

/**
 * Percent-encodes a `grpc-message` value as the gRPC spec asks: only bytes
 * outside printable ASCII, and `%`. Messages that need nothing (the common
 * case) are returned as they are.
 */
export function encodeGrpcMessage(text: string): string {
  if (!/[^\x20-\x24\x26-\x7e]/.test(text)) return text;
  return Array.from(Buffer.from(text, "utf8"), (b) =>
    b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");
}
