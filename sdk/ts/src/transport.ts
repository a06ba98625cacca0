import type { Transport } from "@connectrpc/connect";
import { createUnaryConnectTransport } from "./connect-unary-transport.js";
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
  // Every cache RPC is unary, and a lean unary client costs a fraction of
  // the client CPU of connect-node's general one (see the two transports).
  const transport =
    options.protocol === "grpc"
      ? createUnaryGrpcTransport({ baseUrl: options.url, tls: options.tls })
      : createUnaryConnectTransport({ baseUrl: options.url, tls: options.tls });
  return { transport, close: () => transport.close() };
}
