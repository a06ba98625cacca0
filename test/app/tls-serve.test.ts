import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import { promisify } from "node:util";
import { makeCa, type CertFiles, type TestCa } from "../harness/certs.js";
import { serveLarder as serve, stopLarder } from "../harness/larder-cli.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";

const run = promisify(execFile);

/** Runs `larder serve` with a bad setting: it must exit 1 with one line on stderr. */
async function failedStart(env: Record<string, string>): Promise<string> {
  const result = await run(process.execPath, ["bin/larder.js", "serve"], {
    env: { ...process.env, LARDER_PORT: "0", LARDER_HOST: "127.0.0.1", ...env },
  }).then(
    () => ({ code: 0, stderr: "", stdout: "" }),
    (err: { code: number; stderr: string; stdout: string }) => err,
  );
  expect(result.code).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  return result.stderr.trimEnd();
}

async function servedSerial(port: number, ca: string): Promise<string> {
  const socket = tls.connect({ host: "127.0.0.1", port, ca });
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

let ca: TestCa;
let cert: CertFiles;
beforeAll(() => {
  ca = makeCa();
  cert = ca.server("server");
});
afterAll(() => ca.remove());

describe("larder serve with TLS", () => {
  let proc: ChildProcess;
  let port: number;
  let logs: () => string;
  beforeAll(async () => {
    ({ proc, port, logs } = await serve({ LARDER_TLS_CERT: cert.certPath, LARDER_TLS_KEY: cert.keyPath }));
  });
  afterAll(async () => {
    await stopLarder(proc);
  });

  it("logs that TLS is on, and serves curl and the larder CLI with --ca", async () => {
    expect(logs()).toMatch(/"tls":true[^\n]*"msg":"larder listening"/);
    const url = `https://127.0.0.1:${port}`;
    const health = await run("curl", ["-s", "--cacert", ca.certPath, `${url}/healthz`]);
    expect(health.stdout).toBe("ok\n");
    const cli = (...args: string[]): Promise<{ stdout: string }> => run(process.execPath, ["bin/larder.js", ...args, "--url", url, "--ca", ca.certPath]);
    expect((await cli("set", "greeting", '"Hello!"', "--ttl", "60")).stdout).toMatch(/^version \d+ \(created\)\n$/);
    expect((await cli("get", "greeting")).stdout).toBe('"Hello!"\n');
    const untrusted = await run(process.execPath, ["bin/larder.js", "get", "greeting", "--url", url]).catch((err: { code: number; stderr: string }) => err);
    expect("code" in untrusted && untrusted.code).toBe(1);
    expect("stderr" in untrusted ? untrusted.stderr : "").toMatch(/certificate/);
  });

  it("re-reads the certificate on SIGHUP, and keeps running", async () => {
    const before = await servedSerial(port, ca.cert);
    const next = ca.server("server");
    const serial = new X509Certificate(next.cert).serialNumber;
    proc.kill("SIGHUP");
    for (let i = 0; (await servedSerial(port, ca.cert)) !== serial; i++) {
      if (i > 100) throw new Error("the new certificate was never served");
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(serial).not.toBe(before);
    expect(proc.exitCode).toBeNull();
    expect(logs()).toContain('"msg":"TLS certificate reloaded"');
  });
});

describe("larder serve --workers 2 with mTLS, on Redis", () => {
  let redis: RedisServer;
  let proc: ChildProcess;
  let port: number;
  let logs: () => string;
  let client: CertFiles;
  beforeAll(async () => {
    client = ca.client("cli");
    redis = await startRedis();
    ({ proc, port, logs } = await serve({
      LARDER_TLS_CERT: cert.certPath,
      LARDER_TLS_KEY: cert.keyPath,
      LARDER_TLS_CLIENT_CA: ca.certPath,
      LARDER_WORKERS: "2",
      REDIS_URL: redis.url,
    }));
  }, 30_000);
  afterAll(async () => {
    await stopLarder(proc);
    await redis.stop();
  });

  it("serves the CLI with --cert and --key, and refuses it without", async () => {
    const url = `https://127.0.0.1:${port}`;
    const base = ["bin/larder.js", "--url", url, "--ca", ca.certPath];
    const cli = (...args: string[]): Promise<{ stdout: string }> =>
      run(process.execPath, [...base.slice(0, 1), ...args, ...base.slice(1), "--cert", client.certPath, "--key", client.keyPath]);
    await cli("set", "w", "1");
    expect((await cli("get", "w")).stdout).toBe("1\n");
    const refused = await run(process.execPath, [...base.slice(0, 1), "get", "w", ...base.slice(1)]).catch((err: { code: number }) => err);
    expect("code" in refused && refused.code).toBe(1);
  });

  it("passes SIGHUP on to every worker, which re-read the certificate", async () => {
    // Let the workers' own start-up settle: each logs "larder listening".
    for (let i = 0; i < 100 && logs().split('"msg":"larder listening"').length - 1 < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const next = ca.server("server");
    proc.kill("SIGHUP");
    const serial = new X509Certificate(next.cert).serialNumber;
    const reloaded = (): number => logs().split('"msg":"TLS certificate reloaded"').length - 1;
    for (let i = 0; reloaded() < 2; i++) {
      if (i > 150) throw new Error(`both workers should reload: ${logs()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // Connections go to either worker: every one of them shows the new certificate.
    for (let i = 0; i < 6; i++) expect(await servedSerial(port, ca.cert)).toBe(serial);
    expect(proc.exitCode).toBeNull();
  });
});

describe("larder serve refuses bad TLS settings with one line naming the setting", () => {
  it("a missing certificate file", async () => {
    expect(await failedStart({ LARDER_TLS_CERT: "/nonexistent/cert.pem", LARDER_TLS_KEY: cert.keyPath })).toBe(
      "larder: configuration error: tls.cert (LARDER_TLS_CERT): cannot read /nonexistent/cert.pem: ENOENT",
    );
  });

  it("a key that does not match the certificate", async () => {
    const other = ca.server("other");
    expect(await failedStart({ LARDER_TLS_CERT: cert.certPath, LARDER_TLS_KEY: other.keyPath })).toBe(
      `larder: configuration error: tls.key (LARDER_TLS_KEY): ${other.keyPath} does not match the certificate in ${cert.certPath}`,
    );
  });

  it("an unreadable or unparseable client CA", async () => {
    const env = { LARDER_TLS_CERT: cert.certPath, LARDER_TLS_KEY: cert.keyPath };
    expect(await failedStart({ ...env, LARDER_TLS_CLIENT_CA: "/nonexistent/ca.pem" })).toBe(
      "larder: configuration error: tls.clientCa (LARDER_TLS_CLIENT_CA): cannot read /nonexistent/ca.pem: ENOENT",
    );
    expect(await failedStart({ ...env, LARDER_TLS_CLIENT_CA: "package.json" })).toMatch(
      /^larder: configuration error: tls\.clientCa \(LARDER_TLS_CLIENT_CA\): package\.json is not a PEM certificate/,
    );
  });

  it("a certificate without a key, and a key without a certificate", async () => {
    expect(await failedStart({ LARDER_TLS_CERT: cert.certPath })).toBe(
      "larder: configuration error: tls.key (LARDER_TLS_KEY): required when tls.cert (LARDER_TLS_CERT) is set",
    );
    expect(await failedStart({ LARDER_TLS_KEY: cert.keyPath })).toBe(
      "larder: configuration error: tls.cert (LARDER_TLS_CERT): required when tls.key (LARDER_TLS_KEY) is set",
    );
  });
});
