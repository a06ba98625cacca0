import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What the test upstream answers; tests switch it between runs. */
export interface UpstreamMode {
  status: number;
  body: string;
  contentType: string;
  delayMs: number;
  /** Answers 302 to this URL instead. */
  redirectTo?: string | undefined;
}

/** A seen request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A local node:http upstream whose answers tests control and whose requests they count. */
export interface TestUpstream {
  readonly port: number;
  readonly mode: UpstreamMode;
  readonly requests: SeenRequest[];
  /** Restores the default mode (200, JSON echo of the path). */
  reset(): void;
  close(): Promise<void>;
}

/** Starts the upstream on a free port of every local address (so "localhost" reaches it on v4 and v6). */
export async function startUpstream(): Promise<TestUpstream> {
  const requests: SeenRequest[] = [];
  const mode: UpstreamMode = { status: 200, body: "", contentType: "application/json", delayMs: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      setTimeout(() => {
        if (mode.redirectTo !== undefined) {
          res.writeHead(302, { location: mode.redirectTo }).end();
          return;
        }
        const out = mode.body !== "" ? mode.body : JSON.stringify({ path: req.url, n: requests.length, auth: req.headers["authorization"] ?? null });
        res.writeHead(mode.status, { "content-type": mode.contentType, "x-upstream": "yes" }).end(out);
      }, mode.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    mode,
    requests,
    reset() {
      Object.assign(mode, { status: 200, body: "", contentType: "application/json", delayMs: 0, redirectTo: undefined });
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
