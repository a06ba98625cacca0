import * as http from "node:http";
import * as https from "node:https";
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createUnaryGrpcTransport } from "./grpc-unary-transport.js";
import type { ResolvedOptions } from "./options.js";

/** A transport together with the means to release its connections. */
export interface OwnedTransport {
  /** The transport the generated client calls through. */
  readonly transport: Transport;
  /** Closes the connections this transport opened; safe to call twice. */
  close(): void;
}

/**
 * Builds the transport for a cache. A caller-supplied transport is used as
 * is and never closed, since the caller may share it.
 *
 * @param options the resolved cache options.
 */
export function openTransport(options: ResolvedOptions): OwnedTransport {
  if (options.transport !== undefined) {
    return { transport: options.transport, close: () => {} };
  }
  if (options.protocol === "grpc") {
    // Every cache RPC is unary, and a lean unary client costs a fraction of
    // the client CPU of connect-node's general one (see grpc-unary-transport).
    const transport = createUnaryGrpcTransport({ baseUrl: options.url });
    return { transport, close: () => transport.close() };
  }
  // A private keep-alive agent, for the same reason: close() can destroy its
  // sockets without touching the process-wide global agent.
  const secure = new URL(options.url).protocol === "https:";
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  return {
    transport: createConnectTransport({ baseUrl: options.url, httpVersion: "1.1", nodeOptions: { agent } }),
    close: () => agent.destroy(),
  };
}
