import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { configSettings, environmentVariables, loadConfig } from "../../server/app/config.js";
import { healthPaths } from "../../server/ops/http.js";
import { createMemoryStore, hashApiKey, type LarderServer } from "../../server/index.js";
import { startLarder } from "../harness/larder.js";
import { makeTempDir, removeTempDir } from "../harness/redis-process.js";

/**
 * The Dockerfile, the compose file and the Kubernetes manifests, checked
 * against what the server really reads: its environment variables and
 * config settings (app/config.ts), its probe paths (ops/http.ts) and its
 * default port, so that none of them can drift from the code. Docker does
 * not run here; the files are read and parsed.
 */

type Doc = Record<string, unknown>;
// The manifests' shapes are checked by the assertions; `any` keeps the paths into them readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const defaults = loadConfig({});
const serverPaths: string[] = Object.values(healthPaths);

function envNamesOf(names: string[]): void {
  const unknown = names.filter((n) => (n.startsWith("LARDER_") || n.startsWith("REDIS_")) && !environmentVariables.includes(n));
  expect(unknown, "environment variables the server does not read").toEqual([]);
}

describe("Dockerfile", () => {
  const text = readFileSync("Dockerfile", "utf8").replace(/\\\n/g, " ");
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  const instructions = lines.map((l) => {
    const [op = "", ...rest] = l.trim().split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(" ") };
  });
  const all = (op: string): string[] => instructions.filter((i) => i.op === op).map((i) => i.args);
  const env: Record<string, string> = {};
  for (const args of all("ENV")) for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) env[k as string] = v as string;

  it("is multi-stage, with a slim Node.js 20 runtime and a non-root user", () => {
    const from = all("FROM");
    expect(from.length).toBeGreaterThanOrEqual(2);
    expect(from.at(-1)).toMatch(/^node:20[\w.-]*-slim\b/);
    const user = all("USER").at(-1);
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
  });

  it("exposes the port the server listens on, and sets only variables the server reads", () => {
    expect(all("EXPOSE")).toEqual([String(defaults.port)]);
    expect(env["LARDER_PORT"]).toBe(String(defaults.port));
    envNamesOf(Object.keys(env));
  });

  it("checks health on the liveness path, and runs `larder serve`", () => {
    const check = all("HEALTHCHECK").join(" ");
    expect(check).toContain(healthPaths.liveness);
    expect(all("ENTRYPOINT")).toEqual(['["larder"]']);
    expect(all("CMD")).toEqual(['["serve"]']);
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { bin: Record<string, string> };
    expect(Object.keys(pkg.bin)).toContain("larder");
  });

  it("copies only what exists and what .dockerignore lets through", () => {
    const ignore = readFileSync(".dockerignore", "utf8").split("\n").filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""));
    for (const args of all("COPY").filter((a) => !a.startsWith("--from"))) {
      const sources = args.split(/\s+/).slice(0, -1);
      for (const src of sources) {
        expect(existsSync(src), `COPY ${src}`).toBe(true);
        expect(ignore, `.dockerignore lets ${src} through`).toContain(src.replace(/\/$/, ""));
      }
    }
  });
});

describe("deploy/compose.yaml", () => {
  const compose = parse(readFileSync("deploy/compose.yaml", "utf8")) as Any;
  const redis = compose.services.redis;
  const larder = compose.services.larder;

  it("runs Redis with an append-only file fsynced every second, on a volume, with a health check", () => {
    const command = (redis.command as string[]).join(" ");
    expect(command).toContain("--appendonly yes");
    expect(command).toContain("--appendfsync everysec");
    const [volume, path] = (redis.volumes[0] as string).split(":");
    expect(path).toBe("/data");
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(redis.healthcheck.test).toEqual(["CMD", "redis-cli", "ping"]);
  });

  it("starts Larder once Redis is healthy, with variables the server reads, on its port", () => {
    expect(larder.depends_on.redis.condition).toBe("service_healthy");
    envNamesOf(Object.keys(larder.environment));
    expect(larder.environment.REDIS_URL).toMatch(/^redis:\/\/redis:6379$/);
    const port = Number(larder.environment.LARDER_PORT ?? defaults.port);
    expect((larder.ports as string[]).map((p) => Number(p.split(":").at(-1)))).toEqual([port]);
    expect(existsSync(join("deploy", larder.build.context, larder.build.dockerfile))).toBe(true);
    const grace = Number(/^(\d+)s$/.exec(larder.stop_grace_period)?.[1]);
    expect(grace * 1000).toBeGreaterThan(defaults.drainTimeoutMs);
  });
});

describe("deploy/k8s", () => {
  const docs: Doc[] = readdirSync("deploy/k8s")
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) => parseAllDocuments(readFileSync(join("deploy/k8s", f), "utf8")).map((d) => d.toJS() as Doc));
  const find = (kind: string, name?: string): Any => {
    const found = docs.find((d) => d["kind"] === kind && (name === undefined || (d["metadata"] as Any)?.name === name));
    expect(found, `${kind} ${name ?? ""}`).toBeDefined();
    return found;
  };
  const deployment = find("Deployment");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const env = Object.fromEntries((container.env as Any[]).map((e) => [e.name, e]));
  const port = (name: string): number => (container.ports as Any[]).find((p) => p.name === name)?.containerPort;
  const configMap = find("ConfigMap", pod.volumes.find((v: Any) => v.configMap)?.configMap.name);
  const config = JSON.parse(configMap.data["config.json"]) as Any;
  /** The Secret or ConfigMap key that a file path inside the container comes from. */
  const mounted = (path: string): { volume: Any; key: string } => {
    const mount = (container.volumeMounts as Any[]).find((m) => path.startsWith(`${m.mountPath}/`));
    expect(mount, `a volume mounted above ${path}`).toBeDefined();
    return { volume: pod.volumes.find((v: Any) => v.name === mount.name), key: path.slice(mount.mountPath.length + 1) };
  };
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir("larder-manifests");
  });
  afterAll(() => removeTempDir(dir));

  it("runs 3 non-root replicas with a read-only root filesystem and resources", () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).not.toBe(0);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
  });

  it("probes readiness on /readyz and liveness on /healthz, on the server's port, over TLS since TLS is on", () => {
    expect(container.readinessProbe.httpGet.path).toBe(healthPaths.readiness);
    expect(container.livenessProbe.httpGet.path).toBe(healthPaths.liveness);
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(serverPaths).toContain(probe.httpGet.path);
      expect(port(probe.httpGet.port)).toBe(Number(env["LARDER_PORT"]?.value ?? defaults.port));
      expect(probe.httpGet.scheme).toBe(env["LARDER_TLS_CERT"] === undefined ? "HTTP" : "HTTPS");
    }
    expect(port("http")).toBe(defaults.port);
  });

  it("sets only variables the server reads, and its config holds only settings the server knows", () => {
    envNamesOf(Object.keys(env));
    expect(Object.keys(config).filter((k) => !configSettings.includes(k))).toEqual([]);
    expect(port("metrics")).toBe(config.metrics.port);
    expect(deployment.spec.template.metadata.annotations["prometheus.io/port"]).toBe(String(config.metrics.port));
    expect(deployment.spec.template.metadata.annotations["prometheus.io/path"]).toBe(config.metrics.path ?? "/metrics");
  });

  it("stops more slowly than the server drains", () => {
    const pause = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan((config.drainTimeoutMs ?? defaults.drainTimeoutMs) + pause * 1000);
  });

  it("mounts every file the settings name from a ConfigMap or Secret that holds it", () => {
    const config$ = mounted(env["LARDER_CONFIG"].value);
    expect(config$.volume.configMap.name).toBe(configMap.metadata.name);
    expect(Object.keys(configMap.data)).toContain(config$.key);
    const keys = mounted(config.apiKeysFile);
    expect(Object.keys(find("Secret", keys.volume.secret.secretName).stringData)).toContain(keys.key);
    for (const variable of ["LARDER_TLS_CERT", "LARDER_TLS_KEY"]) {
      const file = mounted(env[variable].value);
      const secret = find("Secret", file.volume.secret.secretName);
      expect(secret.type).toBe("kubernetes.io/tls");
      expect(Object.keys(secret.stringData ?? secret.data)).toContain(file.key);
    }
    const redis = env["REDIS_URL"].valueFrom.secretKeyRef;
    expect(Object.keys(find("Secret", redis.name).stringData)).toContain(redis.key);
  });

  it("has a config that the server loads, with the API keys of the Secret", () => {
    const keysFile = join(dir, "api-keys.json");
    const keysSecret = find("Secret", mounted(config.apiKeysFile).volume.secret.secretName);
    writeFileSync(keysFile, keysSecret.stringData["api-keys.json"]);
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ ...config, apiKeysFile: keysFile }));
    const redisSecret = find("Secret", env["REDIS_URL"].valueFrom.secretKeyRef.name);
    const loaded = loadConfig({ LARDER_CONFIG: file, REDIS_URL: redisSecret.stringData.url, LARDER_PORT: env["LARDER_PORT"].value });
    expect(loaded.store).toBe("redis");
    expect(loaded.port).toBe(port("http"));
    expect(loaded.apiKeys.map((k) => k.sha256)).toEqual([hashApiKey("replace-me")]);
  });

  it("refuses an apiKeysFile that cannot be read, naming the setting", () => {
    const file = join(dir, "missing-keys.json");
    writeFileSync(file, JSON.stringify({ apiKeysFile: join(dir, "nonexistent.json") }));
    expect(() => loadConfig({ LARDER_CONFIG: file })).toThrow(/^apiKeysFile: cannot read .*nonexistent\.json: ENOENT$/);
  });

  it("has a Service, a PodDisruptionBudget and an autoscaler that select the Deployment's pods", () => {
    const labels = deployment.spec.template.metadata.labels;
    const service = find("Service");
    expect(service.spec.selector).toEqual(labels);
    for (const p of service.spec.ports as Any[]) expect(port(p.targetPort), `Service port ${p.name}`).toBe(p.port);
    const pdb = find("PodDisruptionBudget");
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    expect(pdb.spec.maxUnavailable ?? deployment.spec.replicas - pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    const hpa = find("HorizontalPodAutoscaler");
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(deployment.spec.replicas);
  });
});

describe("the probe paths, asked of a real server", () => {
  let server: LarderServer;
  beforeAll(async () => {
    server = await startLarder(createMemoryStore(), { metrics: { port: 0 } });
  });
  afterAll(() => server.close());

  it.each(serverPaths)("answers %s with 200", async (path) => {
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(200);
  });
});
