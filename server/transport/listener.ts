import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { ServerTlsContext } from "../core/tls.js";

/** A request handler that works for both HTTP/1.1 and HTTP/2 (compat API). */
export type DualHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of {@link createListener}. */
export interface ListenerOptions {
  /** The port; 0 picks a free one. Default 8080. */
  port?: number;
  /** The bind address. Default "0.0.0.0". */
  host?: string;
  /** How long a graceful close waits for calls in flight, in ms. Default 10 000. */
  drainTimeoutMs?: number;
  /**
   * Sees every HTTP/2 stream first, on node:http2's stream API; the streams
   * it returns false for go to `handler`. Default: all go to `handler`.
   */
  h2Streams?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
  /**
   * Sees every HTTP/1.1 request first; the requests it returns false for go
   * to `handler`. Default: all go to `handler`.
   */
  h1Requests?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** Serve TLS instead of cleartext. Default unset: cleartext. */
  tls?: ListenerTlsOptions;
}

/** TLS on the listener's port: ALPN picks HTTP/2 or HTTP/1.1, cleartext is refused. */
export interface ListenerTlsOptions {
  /** The certificate, key and client CA to start with; {@link Listener.setSecureContext} replaces them. Required. */
  context: ServerTlsContext;
  /**
   * Told about every connection whose handshake failed: cleartext sent to
   * the TLS port, a client that does not trust the certificate, a missing
   * client certificate. The connection is already closed. Default: ignored.
   */
  onHandshakeError?: (err: Error, remote: string | undefined) => void;
  /** How long a handshake may take, in ms. Default 10 000. */
  handshakeTimeoutMs?: number;
}

/** One port that speaks HTTP/1.1 and HTTP/2: with prior knowledge in cleartext, by ALPN over TLS. */
export interface Listener {
  /** The bound port. */
  readonly port: number;
  /** Whether the port serves TLS. */
  readonly secure: boolean;
  /**
   * Replaces the TLS credentials for new connections; those open keep the
   * ones they were made with. Does nothing in cleartext.
   */
  setSecureContext(ctx: ServerTlsContext): void;
  /**
   * Stops accepting connections, lets calls in flight finish (HTTP/2 GOAWAY,
   * HTTP/1.1 close after the response), and destroys what is left after the
   * drain timeout.
   */
  close(): Promise<void>;
}

/** Every HTTP/2 connection starts with this preface (RFC 9113 §3.4). */
const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Serves one handler on one port for both protocols. Node's HTTP/2 server
 * has no HTTP/1.1 fallback without TLS, so each connection's first bytes are
 * peeked: the HTTP/2 preface goes to the HTTP/2 server, anything else to the
 * HTTP/1.1 server. With `tls`, the handshake's ALPN protocol decides instead.
 */
export async function createListener(handler: DualHandler, options: ListenerOptions = {}): Promise<Listener> {
  const first = options.h1Requests;
  const h1 = http.createServer(
    first === undefined
      ? (handler as http.RequestListener)
      : (req, res) => {
          if (!first(req, res)) handler(req, res);
        },
  );
  // Function runtimes keep connections open between invocations; a long
  // keep-alive spares them a handshake per call.
  h1.keepAliveTimeout = 65_000;
  // This server never listens itself (it is handed sockets), but Node only
  // starts tracking its connections on "listening". Without that tracking
  // closeIdleConnections() does nothing, so every idle keep-alive connection
  // held shutdown for the whole drain timeout, and headersTimeout and
  // requestTimeout were never enforced.
  h1.emit("listening");
  // node:http2 refuses new streams (ENHANCE_YOUR_CALM) once a session holds
  // more than maxSessionMemory MB of frames; its default of 10 was reached by
  // 64 GetMany calls in flight answering 1 MB each on one connection.
  const h2 = http2.createServer({ maxSessionMemory: 128 }, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  if (options.h2Streams !== undefined) takeStreamsFirst(h2, options.h2Streams);
  const sessions = new Set<http2.ServerHttp2Session>();
  // The session of an emitted connection is created synchronously inside
  // emit("connection"), so the bytes already read wait here for it.
  let pendingHead: Buffer | undefined;
  h2.on("session", (session) => {
    const head = pendingHead;
    pendingHead = undefined;
    if (head !== undefined) {
      const receive = nativeReceiver(session);
      if (receive === undefined) {
        session.destroy(new Error("this Node.js cannot hand a sniffed connection to HTTP/2"));
        return;
      }
      receive(head);
    }
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  let tcp: net.Server;
  let secure: tls.Server | undefined;
  if (options.tls === undefined) {
    tcp = net.createServer((socket) => {
      track(socket);
      dispatch(socket, h1, h2, (head) => {
        pendingHead = head;
      });
    });
  } else {
    secure = createTlsServer(options.tls, h1, h2, track);
    tcp = secure;
  }

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.port ?? 8080, options.host ?? "0.0.0.0", () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  const address = tcp.address() as net.AddressInfo;

  return {
    port: address.port,
    secure: secure !== undefined,
    setSecureContext(ctx) {
      secure?.setSecureContext(ctx);
    },
    async close() {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      const forced = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, options.drainTimeoutMs ?? 10_000);
      forced.unref();
      // HTTP/1.1 keep-alive connections that finish a response during the
      // drain must not take another request.
      h1.on("request", (_req, res: http.ServerResponse) => {
        if (!res.headersSent) res.setHeader("connection", "close");
      });
      const idleTimer = setInterval(() => h1.closeIdleConnections(), 50);
      await closed;
      clearInterval(idleTimer);
      clearTimeout(forced);
      // Stops the connection tracking started above; the error that it was
      // never listening is expected.
      h1.close(() => {});
    },
  };
}

/**
 * A TLS server whose connections, once the handshake is done, go to the
 * same HTTP/1.1 and HTTP/2 servers (and so the same fast paths) as in
 * cleartext, chosen by the ALPN protocol: "h2" to HTTP/2, "http/1.1" or no
 * ALPN at all (older clients, curl --http1.1 without it) to HTTP/1.1. Node's
 * HTTP/2 server reads a TLS socket natively, as its own secure server does.
 */
function createTlsServer(
  options: ListenerTlsOptions,
  h1: http.Server,
  h2: http2.Http2Server,
  track: (socket: net.Socket) => void,
): tls.Server {
  const server = tls.createServer(
    {
      ...options.context,
      ALPNProtocols: ["h2", "http/1.1"],
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    },
    (socket) => {
      socket.on("error", () => socket.destroy());
      if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else h1.emit("connection", socket);
    },
  );
  // The raw sockets, so that a drain also ends connections still in their
  // handshake, which would otherwise hold close() for the handshake timeout.
  server.on("connection", track);
  server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
    const remote = socket.remoteAddress;
    socket.destroy();
    options.onHandshakeError?.(err, remote);
  });
  return server;
}

/**
 * Reads just enough of a connection to tell the protocols apart, then hands
 * it over. HTTP/1.1 takes the bytes back through `unshift`. Node's HTTP/2
 * session reads the socket natively and would never see unshifted bytes, so
 * they are fed to the session's native handle instead.
 */
function dispatch(socket: net.Socket, h1: http.Server, h2: http2.Http2Server, feed: (head: Buffer) => void): void {
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const n = Math.min(head.length, preface.length);
    const isH2 = head.subarray(0, n).equals(preface.subarray(0, n));
    if (isH2 && head.length < preface.length) return;
    socket.off("data", onData);
    socket.pause();
    if (isH2) {
      feed(head);
      h2.emit("connection", socket);
    } else {
      socket.unshift(head);
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}

/**
 * Puts `first` in front of node:http2's compatibility layer. That layer is
 * itself a "stream" listener (installed with the request handler), and
 * every stream listener sees every stream, so it is taken off and called
 * only for the streams `first` declines. The stream API skips the
 * Http2ServerRequest/Response pair per call, which the fast path does not need.
 */
function takeStreamsFirst(
  h2: http2.Http2Server,
  first: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean,
): void {
  const compat = h2.listeners("stream") as ((...args: unknown[]) => void)[];
  h2.removeAllListeners("stream");
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) => {
    if (first(stream, headers)) return;
    for (const listener of compat) listener.call(h2, stream, headers, ...rest);
  });
}

/** The native handle of an HTTP/2 session, which can take bytes already read. */
function nativeReceiver(session: http2.Http2Session): ((buf: Buffer) => void) | undefined {
  for (const sym of Object.getOwnPropertySymbols(session)) {
    const handle = (session as unknown as Record<symbol, { receive?: unknown } | undefined>)[sym];
    if (typeof handle === "object" && handle !== null && typeof handle.receive === "function") {
      const receive = handle.receive as (buf: Buffer) => void;
      return (buf) => receive.call(handle, buf);
    }
  }
  return undefined;
}
