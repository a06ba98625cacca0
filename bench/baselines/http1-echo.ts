/**
 * Baseline for Connect JSON over HTTP/1.1: a bare node:http server that
 * does what any JSON endpoint must (read the body, JSON.parse it) and
 * answers with a canned Connect JSON GetResponse hit of the same size as
 * Larder's. What Larder adds over this is routing, validation, the store
 * and protobuf-JSON mapping.
 */
import * as http from "node:http";
import { announceReady, childConfig } from "../child.js";
import { hitResponseJson } from "../payloads.js";

/** The config the bench passes. */
export interface Http1EchoConfig {
  readonly port: number;
  /** The value size of the canned GetResponse hit. */
  readonly valueBytes: number;
}

const config = childConfig<Http1EchoConfig>();
const body = Buffer.from(hitResponseJson(config.valueBytes));
const headers = { "content-type": "application/json", "content-length": String(body.length) };

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, headers).end(body);
  });
});
// The same keep-alive as Larder's listener, so neither side reconnects.
server.keepAliveTimeout = 65_000;
server.listen(config.port, "127.0.0.1", () => announceReady(config.port, () => server.close()));
