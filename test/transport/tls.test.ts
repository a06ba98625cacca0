import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { GetRequestSchema, GetResponseSchema } from "../../server/gen/larder/v1/cache_pb.js";
import { createLogger, createMemoryStore, hashApiKey, type LarderServer, type Store } from "../../server/index.js";
import { overrideStore } from "../harness/store-override.js";
import { createListener } from "../../server/transport/listener.js";
import { readTlsFiles } from "../../server/core/tls.js";
import { makeCa, type CertFiles, type TestCa } from "../harness/certs.js";
import { cacheClient, freshNamespace, startLarder, type Protocol } from "../harness/larder.js";
import { expectCode, json } from "../harness/fixture.js";

const run = promisify(execFile);
const buf = "node_modules/.bin/buf";

/** A logger that keeps its lines, to check what a refused connection logs. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", write: (line) => void lines.push(line) });
  return { logger, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function waitFor(check: () => boolean, what: string, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function grpcJsGet(client: grpc.Client, key: string, ns: string): Promise<{ found: boolean }> {
  const md = new grpc.Metadata();
  md.set("larder-namespace", ns);
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      "/larder.v1.CacheService/Get",
      (m: ReturnType<typeof create<typeof GetRequestSchema>>) => Buffer.from(toBinary(GetRequestSchema, m)),
      (b: Buffer) => fromBinary(GetResponseSchema, b),
      create(GetRequestSchema, { key }),
      md,
      { deadline: Date.now() + 5000 },
      (err, r) => (err || !r ? reject(err ?? new Error("no answer")) : resolve(r)),
    ),
  );
}

let ca: TestCa;
let otherCa: TestCa;
let serverCert: CertFiles;
beforeAll(() => {
  ca = makeCa();
  otherCa = makeCa("another-ca");
  serverCert = ca.server("server");
});
afterAll(() => {
  ca.remove();
  otherCa.remove();
});

describe("TLS on the one port", () => {
  let server: LarderServer;
  const log = capturingLogger();
  beforeAll(async () => {
    server = await startLarder(createMemoryStore(), {
      tls: { cert: serverCert.certPath, key: serverCert.keyPath },
      logger: log.logger,
      metrics: { port: 0 },
    });
  });
  afterAll(() => server.close());

  it("has an https:// URL", () => {
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
  });

  it.each<Protocol>(["grpc", "connect-h2", "connect-h1", "grpc-web-h1"])("serves %s with the CA trusted", async (protocol) => {
    const c = cacheClient(server.url, { protocol, namespace: freshNamespace(), tls: { ca: ca.cert } });
    await c.set({ key: "k", value: json({ via: protocol }) });
    expect((await c.get({ key: "k" })).value?.kind).toEqual({ case: "json", value: JSON.stringify({ via: protocol }) });
    await expectCode(c.get({ key: "" }), Code.InvalidArgument, /^key: must not be empty$/);
  });

  it("negotiates h2 and http/1.1 by ALPN", async () => {
    for (const alpn of ["h2", "http/1.1"]) {
      const socket = tls.connect({ host: "127.0.0.1", port: server.port, ca: ca.cert, ALPNProtocols: [alpn] });
      await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
      expect(socket.alpnProtocol).toBe(alpn);
      socket.destroy();
    }
  });

  it("serves grpc-js with SSL credentials", async () => {
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(Buffer.from(ca.cert)));
    try {
      const ns = freshNamespace();
      await cacheClient(server.url, { namespace: ns, tls: { ca: ca.cert } }).set({ key: "g", value: json(1) });
      expect((await grpcJsGet(client, "g", ns)).found).toBe(true);
    } finally {
      client.close();
    }
  });

  it.each([["--http1.1"], ["--http2"]])("serves curl %s with --cacert", async (flag) => {
    const base = ["-s", "--fail-with-body", "--cacert", ca.certPath, flag, "-H", "content-type: application/json", "-H", "larder-namespace: curl"];
    const set = await run("curl", [...base, "-d", '{"key":"c","value":{"json":"42"}}', `${server.url}/larder.v1.CacheService/Set`]);
    expect(JSON.parse(set.stdout)).toMatchObject({ applied: true });
    const got = await run("curl", [...base, "-w", "\n%{http_version}", "-d", '{"key":"c"}', `${server.url}/larder.v1.CacheService/Get`]);
    const [body, version] = got.stdout.split("\n");
    expect(JSON.parse(body ?? "")).toMatchObject({ found: true, value: { json: "42" } });
    expect(version).toBe(flag === "--http2" ? "2" : "1.1");
    const health = await run("curl", ["-s", "--cacert", ca.certPath, flag, `${server.url}/healthz`]);
    expect(health.stdout).toBe("ok\n");
  });

  it.each(["grpc", "connect"])("serves buf curl --protocol %s with --cacert", async (protocol) => {
    const ns = freshNamespace();
    await cacheClient(server.url, { namespace: ns, tls: { ca: ca.cert } }).set({ key: "b", value: json("buf") });
    const out = await run(buf, [
      "curl", "--schema", "proto", "--protocol", protocol, "--cacert", ca.certPath, "-H", `larder-namespace: ${ns}`,
      "-d", '{"key":"b"}', `${server.url}/larder.v1.CacheService/Get`,
    ]);
    expect(JSON.parse(out.stdout)).toMatchObject({ found: true, value: { json: '"buf"' } });
  }, 60_000);

  it("serves buf curl with reflection over TLS", async () => {
    const out = await run(buf, ["curl", "--protocol", "grpc", "--cacert", ca.certPath, server.url, "--list-services"]);
    expect(out.stdout).toContain("larder.v1.CacheService");
  }, 60_000);

  it.each<Protocol>(["grpc", "connect-h1"])("refuses a client that trusts another CA (%s)", async (protocol) => {
    const c = cacheClient(server.url, { protocol, namespace: freshNamespace(), tls: { ca: otherCa.cert } });
    await expect(c.get({ key: "k" })).rejects.toThrow(/certificate|verify/i);
    const curl = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", otherCa.certPath, `${server.url}/healthz`]).catch(
      (err: { code: number }) => err,
    );
    expect("code" in curl ? curl.code : 0).toBe(60); // curl: peer certificate cannot be authenticated
  });

  it("refuses cleartext on the TLS port with a clean close and one log line each, and keeps serving", async () => {
    const before = log.lines().length;
    // HTTP/1.1 in cleartext
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
    // HTTP/2 prior knowledge in cleartext
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    const failed = await new Promise<boolean>((resolve) => {
      session.on("error", () => resolve(true));
      session.on("close", () => resolve(true));
      session.request({ ":path": "/healthz" }).on("error", () => {}).on("response", () => resolve(false));
    });
    session.destroy();
    expect(failed).toBe(true);
    // Garbage, then a half-open connection that sends nothing at all
    await new Promise<void>((resolve) => {
      const s = net.connect(server.port, "127.0.0.1", () => s.write("\x00\x01hello"));
      s.on("close", () => resolve()).on("error", () => {});
    });
    // Lines of earlier tests' refused handshakes may still arrive: only this
    // test's kind is counted.
    const refused = (): Record<string, unknown>[] =>
      log.lines().slice(before).filter((l) => l["msg"] === "cleartext connection refused: this port serves TLS");
    await waitFor(() => refused().length >= 3, "three log lines");
    await new Promise((r) => setTimeout(r, 200));
    expect(refused()).toHaveLength(3);
    for (const line of refused()) expect(line).toMatchObject({ level: "warn", remote: "127.0.0.1" });
    const c = cacheClient(server.url, { namespace: freshNamespace(), tls: { ca: ca.cert } });
    expect((await c.has({ key: "x" })).found).toBe(false);
  });

  it("serves the metrics port over TLS too", async () => {
    expect(server.metricsPort).toBeGreaterThan(0);
    const out = await run("curl", ["-s", "--cacert", ca.certPath, `https://127.0.0.1:${server.metricsPort}/metrics`]);
    expect(out.stdout).toContain("larder_rpc_requests_total");
    await expect(fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).rejects.toThrow();
  });
});

describe("mTLS: client certificates from a CA", () => {
  let server: LarderServer;
  let client: CertFiles;
  let strangerClient: CertFiles;
  const apiKey = "mtls-key";
  const log = capturingLogger();
  beforeAll(async () => {
    client = ca.client("client");
    strangerClient = otherCa.client("stranger");
    server = await startLarder(createMemoryStore(), {
      tls: { cert: serverCert.certPath, key: serverCert.keyPath, clientCa: ca.certPath },
      apiKeys: [{ sha256: hashApiKey(apiKey), namespace: "mtls", permissions: ["read", "write"] }],
      logger: log.logger,
    });
  });
  afterAll(() => server.close());

  it.each<Protocol>(["grpc", "connect-h2", "connect-h1", "grpc-web-h1"])("serves %s with a client certificate and an API key", async (protocol) => {
    const c = cacheClient(server.url, { protocol, apiKey, tls: { ca: ca.cert, cert: client.cert, key: client.key } });
    await c.set({ key: protocol, value: json(true) });
    expect((await c.get({ key: protocol })).found).toBe(true);
  });

  it("still requires the API key on top of the certificate", async () => {
    const c = cacheClient(server.url, { namespace: "", tls: { ca: ca.cert, cert: client.cert, key: client.key } });
    await expectCode(c.get({ key: "k" }), Code.Unauthenticated);
  });

  it.each<Protocol>(["grpc", "connect-h1"])("refuses %s without a client certificate, or with one from another CA", async (protocol) => {
    const none = cacheClient(server.url, { protocol, apiKey, tls: { ca: ca.cert } });
    await expect(none.get({ key: "k" })).rejects.toThrow();
    const stranger = cacheClient(server.url, { protocol, apiKey, tls: { ca: ca.cert, cert: strangerClient.cert, key: strangerClient.key } });
    await expect(stranger.get({ key: "k" })).rejects.toThrow();
    await waitFor(() => log.lines().some((l) => l["msg"] === "TLS handshake failed: client certificate missing or not trusted"), "the log line");
  });

  it("refuses curl without a client certificate and serves it with one", async () => {
    const without = await run("curl", ["-s", "--cacert", ca.certPath, `${server.url}/healthz`]).catch((err: { code: number }) => err);
    expect("code" in without ? without.code : 0).not.toBe(0);
    const withCert = await run("curl", ["-s", "--cacert", ca.certPath, "--cert", client.certPath, "--key", client.keyPath, `${server.url}/healthz`]);
    expect(withCert.stdout).toBe("ok\n");
  });
});

describe("TLS: graceful shutdown", () => {
  it("lets calls in flight on HTTP/2 and HTTP/1.1 finish, then closes without waiting out the drain timeout", async () => {
    const memory = createMemoryStore();
    const slow = overrideStore(memory, {
      get: async (...args: Parameters<Store["get"]>) => {
        await new Promise((r) => setTimeout(r, 400));
        return memory.get(...args);
      },
    });
    const server = await startLarder(slow, { tls: { cert: serverCert.certPath, key: serverCert.keyPath }, drainTimeoutMs: 5000 });
    const ns = freshNamespace();
    const h2 = cacheClient(server.url, { namespace: ns, tls: { ca: ca.cert } });
    const h1 = cacheClient(server.url, { namespace: ns, protocol: "connect-h1", tls: { ca: ca.cert } });
    await h2.has({ key: "warm" });
    await h1.has({ key: "warm" });
    const inFlight = [h2.get({ key: "k" }), h1.get({ key: "k" })];
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(2000);
    for (const call of inFlight) expect((await call).found).toBe(false);
    await expect(cacheClient(server.url, { namespace: ns, tls: { ca: ca.cert } }).has({ key: "k" })).rejects.toThrow();
  });
});

describe("TLS: reloads on request", () => {
  async function servedSerial(port: number): Promise<string> {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.cert });
    await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
    const serial = socket.getPeerCertificate().serialNumber;
    socket.destroy();
    return serial;
  }

  it("takes new files on both ports, and keeps the current certificate when the new files do not match", async () => {
    const own = ca.server("reloaded");
    const log = capturingLogger();
    const server = await startLarder(createMemoryStore(), {
      tls: { cert: own.certPath, key: own.keyPath, pollIntervalMs: 0 },
      metrics: { port: 0 },
      logger: log.logger,
    });
    try {
      const first = new X509Certificate(own.cert).serialNumber;
      expect(await servedSerial(server.port)).toBe(first);
      const next = ca.server("reloaded");
      // Polling is off: nothing changes until asked.
      expect(await servedSerial(server.port)).toBe(first);
      expect(server.reloadTls()).toBe(true);
      const second = new X509Certificate(next.cert).serialNumber;
      expect(await servedSerial(server.port)).toBe(second);
      expect(await servedSerial(server.metricsPort ?? 0)).toBe(second);
      // A key of another certificate: refused, logged, and the current one stays.
      copyFileSync(serverCert.keyPath, own.keyPath);
      expect(server.reloadTls()).toBe(false);
      expect(await servedSerial(server.port)).toBe(second);
      expect(log.lines().find((l) => l["msg"] === "TLS files not reloaded; the current certificate stays")).toMatchObject({
        level: "warn",
        setting: "tls.key",
      });
    } finally {
      await server.close();
    }
  });
});

describe("TLS: the listener's fast-path hooks", () => {
  it("hands h2 streams and HTTP/1.1 requests to the fast paths first, as in cleartext", async () => {
    const seen: string[] = [];
    const listener = await createListener(
      (_req, res) => {
        seen.push("fallback");
        res.writeHead(404);
        res.end();
      },
      {
        port: 0,
        host: "127.0.0.1",
        tls: { context: readTlsFiles({ cert: serverCert.certPath, key: serverCert.keyPath }) },
        h2Streams: (stream, headers) => {
          if (headers[":path"] !== "/fast") return false;
          seen.push("h2 fast path");
          stream.respond({ ":status": 200 });
          stream.end("h2");
          return true;
        },
        h1Requests: (req, res) => {
          if (req.url !== "/fast") return false;
          seen.push("h1 fast path");
          res.end("h1");
          return true;
        },
      },
    );
    try {
      for (const flag of ["--http2", "--http1.1"]) {
        const fast = await run("curl", ["-s", "--cacert", ca.certPath, flag, `https://127.0.0.1:${listener.port}/fast`]);
        expect(fast.stdout).toBe(flag === "--http2" ? "h2" : "h1");
        await run("curl", ["-s", "--cacert", ca.certPath, flag, `https://127.0.0.1:${listener.port}/other`]);
      }
      expect(seen).toEqual(["h2 fast path", "fallback", "h1 fast path", "fallback"]);
    } finally {
      await listener.close();
    }
  });
});
