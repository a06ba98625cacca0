/**
 * Baseline: the least any HTTP/2 gRPC server on Node can do. node:http2's
 * core stream API answers every request, whatever its path, with one fixed,
 * pre-encoded GetResponse hit and grpc-status 0 trailers. No routing, no
 * decoding, no store: what Larder adds over this is the cost of being a
 * cache server rather than a socket.
 */
import * as http2 from "node:http2";
import { announceReady, childConfig } from "../child.js";
import { hitResponseFrame } from "../payloads.js";

/** The config the bench passes. */
export interface BareH2Config {
  readonly port: number;
  /** The value size of the canned GetResponse hit. */
  readonly valueBytes: number;
}

const config = childConfig<BareH2Config>();
const frame = hitResponseFrame(config.valueBytes);
const responseHeaders = { ":status": 200, "content-type": "application/grpc" };
const trailers = { "grpc-status": "0" };

const server = http2.createServer();
server.on("stream", (stream) => {
  // A real server answers after the whole request arrived; answering
  // earlier would flatter the baseline.
  stream.on("data", () => {});
  stream.once("end", () => {
    stream.respond(responseHeaders, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end(frame);
  });
  stream.on("error", () => {});
});
server.listen(config.port, "127.0.0.1", () => announceReady(config.port, () => server.close()));
