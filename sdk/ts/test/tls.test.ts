import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import * as http2 from "node:http2";
import * as tls from "node:tls";
import { createMemoryStore, hashApiKey, type LarderServer } from "../../../server/index.js";
import { makeCa, type CertFiles, type TestCa } from "../../../test/harness/certs.js";
import { freshNamespace, startLarder } from "../../../test/harness/larder.js";
import { Code, createCache, LarderError, type Cache } from "../src/index.js";

const protocols = ["grpc", "connect"] as const;

/** The serial number of the certificate that a new connection to `port` is shown. */
async function servedSerial(port: number, ca: string): Promise<string> {
  const socket = tls.connect({ host: "127.0.0.1", port, ca, ALPNProtocols: ["h2"] });
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

function serialOf(cert: CertFiles): string {
  return new X509Certificate(cert.cert).serialNumber;
}

let ca: TestCa;
let otherCa: TestCa;
let serverCert: CertFiles;
let clientCert: CertFiles;
const opened: Cache[] = [];
function cache(options: Parameters<typeof createCache>[0]): Cache {
  const c = createCache(options);
  opened.push(c);
  return c;
}
beforeAll(() => {
  ca = makeCa();
  otherCa = makeCa("another-ca");
  serverCert = ca.server("server");
  clientCert = ca.client("client");
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  ca.remove();
  otherCa.remove();
});

describe("@larder/sdk over TLS", () => {
  let server: LarderServer;
  beforeAll(async () => {
    server = await startLarder(createMemoryStore(), { tls: { cert: serverCert.certPath, key: serverCert.keyPath } });
  });
  afterAll(() => server.close());

  it.each(protocols)("works over https:// with a custom CA (%s)", async (protocol) => {
    const c = cache({ url: server.url, protocol, namespace: freshNamespace(), tls: { ca: ca.cert } });
    await c.set("k", { over: "tls" }, 60);
    expect(await c.get("k")).toEqual({ over: "tls" });
    expect(await c.increment("n", 2, 60)).toBe(2);
  });

  it.each(protocols)("refuses a server whose CA it does not trust (%s)", async (protocol) => {
    const c = cache({ url: server.url, protocol, namespace: freshNamespace(), tls: { ca: otherCa.cert }, retries: 0 });
    const err = await c.get("k").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LarderError);
    expect((err as LarderError).code).toBe(Code.Unavailable);
    expect((err as LarderError).message).toMatch(/certificate/i);
  });

  it.each(protocols)("refuses the system roots alone for a private CA (%s)", async (protocol) => {
    const c = cache({ url: server.url, protocol, namespace: freshNamespace(), retries: 0 });
    await expect(c.get("k")).rejects.toThrow(/certificate/i);
  });

  it("rejects a client certificate without its key", () => {
    expect(() => createCache({ url: server.url, tls: { cert: clientCert.cert } })).toThrow(/tls\.key/);
  });
});

describe("@larder/sdk with mTLS", () => {
  let server: LarderServer;
  beforeAll(async () => {
    server = await startLarder(createMemoryStore(), {
      tls: { cert: serverCert.certPath, key: serverCert.keyPath, clientCa: ca.certPath },
      apiKeys: [{ sha256: hashApiKey("k1"), namespace: "m", permissions: ["read", "write"] }],
    });
  });
  afterAll(() => server.close());

  it.each(protocols)("works with a client certificate and an API key (%s)", async (protocol) => {
    const c = cache({ url: server.url, protocol, apiKey: "k1", tls: { ca: ca.cert, cert: clientCert.cert, key: clientCert.key } });
    await c.set("m", 1, 60);
    expect(await c.get("m")).toBe(1);
  });

  it.each(protocols)("is refused without a client certificate (%s)", async (protocol) => {
    const c = cache({ url: server.url, protocol, apiKey: "k1", tls: { ca: ca.cert }, retries: 0 });
    const err = await c.get("m").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LarderError);
    expect((err as LarderError).code).toBe(Code.Unavailable);
  });
});

describe("certificate rotation under load", () => {
  let server: LarderServer;
  let rotateCa: TestCa;
  beforeAll(async () => {
    rotateCa = makeCa("rotation-ca");
    const first = rotateCa.server("server");
    server = await startLarder(createMemoryStore(), { tls: { cert: first.certPath, key: first.keyPath, pollIntervalMs: 100 } });
  });
  afterAll(async () => {
    await server.close();
    rotateCa.remove();
  });

  it("serves the new certificate to new connections, and no call fails on open clients", async () => {
    const clients = protocols.map((protocol) => cache({ url: server.url, protocol, namespace: freshNamespace(), tls: { ca: rotateCa.cert } }));
    // A raw HTTP/2 connection opened before the rotation must live through it.
    const early = http2.connect(server.url, { ca: rotateCa.cert });
    const before = await servedSerial(server.port, rotateCa.cert);
    let stop = false;
    let calls = 0;
    const failures: unknown[] = [];
    const loops = clients.flatMap((c, i) =>
      Array.from({ length: 8 }, async (_, j) => {
        for (let n = 0; !stop; n++) {
          try {
            await c.set(`k${i}-${j}`, n, 60);
            expect(await c.get(`k${i}-${j}`)).toBe(n);
            calls += 2;
          } catch (err) {
            failures.push(err);
          }
        }
      }),
    );
    // And clients that make a new connection, so a new handshake, per call:
    // none may catch the files half replaced.
    let fresh = 0;
    let freshMs = 0;
    const reconnecting = protocols.map(async (protocol) => {
      while (!stop) {
        const started = performance.now();
        const c = createCache({ url: server.url, protocol, namespace: "fresh", tls: { ca: rotateCa.cert } });
        try {
          await c.has("k");
          fresh++;
          freshMs += performance.now() - started;
        } catch (err) {
          failures.push(err);
        } finally {
          await c.close();
        }
      }
    });
    const rotations: number[] = [];
    for (let round = 0; round < 2; round++) {
      await new Promise((r) => setTimeout(r, 300));
      const started = performance.now();
      const next = rotateCa.server("server");
      const serial = serialOf(next);
      for (let i = 0; (await servedSerial(server.port, rotateCa.cert)) !== serial; i++) {
        if (i > 100) throw new Error("the new certificate was never served");
        await new Promise((r) => setTimeout(r, 20));
      }
      rotations.push(performance.now() - started);
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all([...loops, ...reconnecting]);
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(100);
    expect(fresh).toBeGreaterThan(10);
    expect(await servedSerial(server.port, rotateCa.cert)).not.toBe(before);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = early.request({ ":path": "/healthz" });
      req.on("response", (h) => resolve(h[":status"] as number)).on("error", reject);
      req.end();
    });
    expect(status).toBe(200);
    early.close();
    console.log(
      `TLS rotation: ${calls} calls on open clients and ${fresh} on new connections (connect + handshake + call: ` +
        `${(freshMs / fresh).toFixed(1)} ms on average), 0 failed; the new certificate served ` +
        `${rotations.map((ms) => ms.toFixed(0)).join(" ms and ")} ms after the files were replaced (poll 100 ms)`,
    );
  }, 30_000);
});
