import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { grpcCalls, replyProblem } from "./grpc-call.js";
import { primingRequests, type Op } from "./payloads.js";
import { isLarderTarget, type Case, type TargetKind } from "./plan.js";
import { makeCa, type TestCa } from "../test/harness/certs.js";
import { startRedisCluster, type RedisCluster } from "../test/harness/redis-cluster.js";
import { freePort, startRedis, type RedisServer } from "../test/harness/redis-server.js";
import { startChild, startNodeScript, waitForPort, type Child } from "./processes.js";

/** The Redis a Larder target keeps its data in. */
export type RedisBackend = "standalone" | "cluster";

/** A server that is up and answering. */
export interface RunningTarget {
  readonly kind: TargetKind;
  /** `http://127.0.0.1:<port>`, or `redis://127.0.0.1:<port>` for Redis itself (a Cluster: one of its nodes). */
  readonly url: string;
  /** The processes whose trees' CPU is the server's CPU: one, or every node of a Redis Cluster. */
  readonly pids: readonly number[];
  /** The Redis that a Larder target's calls reach, whose CPU is then accounted too; undefined if none. */
  readonly backend: RedisBackend | undefined;
}

/** Options of {@link Targets}. */
export interface TargetOptions {
  /** The repository root, where `bin/larder.js` lives. */
  readonly repoRoot: string;
  readonly larderArgs: readonly string[];
  /** Node.js flags before `bin/larder.js`, e.g. `--cpu-prof`. */
  readonly larderNodeArgs?: readonly string[];
  readonly larderEnv: Readonly<Record<string, string>>;
  /** Scratch space, for the config file of Larder on the Cluster. */
  readonly workDir: string;
}

// A developer's own settings must not change what is measured.
const larderVariables = ["REDIS_URL", "LARDER_CONFIG", "LARDER_STORE", "LARDER_PORT", "LARDER_HOST", "LARDER_LOG_LEVEL"];

/**
 * Starts each server on first use, each as its own process on a free port,
 * keeps it for the rest of the run (so that the JIT is warm and every case
 * after the first measures a steady server), and writes the data a case
 * reads before its first run.
 */
export class Targets {
  private readonly running = new Map<string, Promise<RunningTarget>>();
  private readonly primed = new Set<string>();
  private redis: Promise<RedisServer> | undefined;
  private cluster: Promise<RedisCluster> | undefined;
  private ca: TestCa | undefined;
  private readonly children: Child[] = [];

  constructor(private readonly options: TargetOptions) {}

  /** The redis-server processes of a backend: one, or every Cluster node; none before it started. */
  async redisPids(backend: RedisBackend): Promise<readonly number[]> {
    if (backend === "cluster") return this.cluster === undefined ? [] : (await this.cluster).pids;
    const pid = this.redis === undefined ? undefined : (await this.redis).pid;
    return pid === undefined ? [] : [pid];
  }

  /** The target of a case, started and primed. */
  async forCase(c: Case): Promise<RunningTarget> {
    // The fixed-answer baselines bake the value size into their answer.
    const instance = c.target === "bare-h2" || c.target === "http1-echo" ? `${c.target}:${c.valueBytes}` : c.target;
    let target = this.running.get(instance);
    if (target === undefined) {
      target = this.start(c.target, c.valueBytes);
      this.running.set(instance, target);
    }
    const running = await target;
    await this.prime(instance, running, c.op, c.valueBytes);
    return running;
  }

  /** Stops every server this instance started. */
  async stop(): Promise<void> {
    await Promise.all([...this.children.map((c) => c.stop()), this.redis?.then((r) => r.stop()), this.cluster?.then((c) => c.stop())]);
    this.ca?.remove();
  }

  private async start(kind: TargetKind, valueBytes: number): Promise<RunningTarget> {
    switch (kind) {
      case "larder-memory":
        return this.startLarder(kind, { LARDER_STORE: "memory" });
      case "larder-redis": {
        const redis = await this.startRedis();
        return this.startLarder(kind, { LARDER_STORE: "redis", REDIS_URL: redis.url });
      }
      case "larder-redis-tls": {
        const redis = await this.startRedis();
        this.ca ??= makeCa("larder-bench-ca");
        const cert = this.ca.server("larder-bench");
        const tls = { LARDER_TLS_CERT: cert.certPath, LARDER_TLS_KEY: cert.keyPath };
        return this.startLarder(kind, { LARDER_STORE: "redis", REDIS_URL: redis.url, ...tls }, "https");
      }
      case "larder-redis-cluster": {
        const cluster = await this.startCluster();
        // The Cluster's seed nodes have no environment variable; they go in a config file.
        const file = join(this.options.workDir, "larder-cluster.json");
        const clusterNodes = cluster.nodes.map(({ host, port }) => ({ host, port }));
        writeFileSync(file, JSON.stringify({ store: "redis", redis: { clusterNodes } }));
        return this.startLarder(kind, { LARDER_CONFIG: file });
      }
      case "grpc-js-map":
        return this.startScript(kind, "baselines/grpc-js-map.js", {});
      case "bare-h2":
        return this.startScript(kind, "baselines/bare-h2.js", { valueBytes });
      case "http1-echo":
        return this.startScript(kind, "baselines/http1-echo.js", { valueBytes });
      case "redis": {
        const redis = await this.startRedis();
        if (redis.pid === undefined) throw new Error("redis-server exited before the run");
        return { kind, url: redis.url, pids: [redis.pid], backend: undefined };
      }
      case "redis-cluster": {
        const cluster = await this.startCluster();
        const seed = cluster.nodes[0];
        if (seed === undefined || cluster.pids.length !== cluster.nodes.length) throw new Error("a Redis Cluster node exited before the run");
        return { kind, url: `redis://${seed.host}:${seed.port}`, pids: cluster.pids, backend: undefined };
      }
    }
  }

  private async startLarder(kind: TargetKind, storeEnv: Record<string, string>, scheme = "http"): Promise<RunningTarget> {
    const backend: RedisBackend | undefined =
      kind === "larder-redis-cluster" ? "cluster" : storeEnv["LARDER_STORE"] === "redis" ? "standalone" : undefined;
    const port = await freePort();
    const child = startChild(kind, process.execPath, [...(this.options.larderNodeArgs ?? []), join(this.options.repoRoot, "bin/larder.js"), "serve", ...this.options.larderArgs], {
      unsetEnv: larderVariables,
      // warn, not silent: a failure to start must leave its reason in the tail.
      env: { LARDER_PORT: String(port), LARDER_HOST: "127.0.0.1", LARDER_LOG_LEVEL: "warn", ...storeEnv, ...this.options.larderEnv },
    });
    this.children.push(child);
    await waitForPort(child, port);
    return { kind, url: `${scheme}://127.0.0.1:${port}`, pids: [child.pid], backend };
  }

  private async startScript(kind: TargetKind, script: string, config: Record<string, unknown>): Promise<RunningTarget> {
    const port = await freePort();
    const child = startNodeScript(kind, script, { ...config, port });
    this.children.push(child);
    await waitForPort(child, port);
    return { kind, url: `http://127.0.0.1:${port}`, pids: [child.pid], backend: undefined };
  }

  private startRedis(): Promise<RedisServer> {
    this.redis ??= startRedis();
    return this.redis;
  }

  /** The Redis Cluster, three masters without replicas, shared by Larder and the ioredis baseline. */
  private startCluster(): Promise<RedisCluster> {
    this.cluster ??= startRedisCluster({ masters: 3 });
    return this.cluster;
  }

  /** Writes the values an op reads, through the target's own gRPC API, once per target. */
  private async prime(instance: string, target: RunningTarget, op: Op, valueBytes: number): Promise<void> {
    // Fixed-answer baselines have nothing to prime; the ioredis driver primes Redis itself.
    if (!isLarderTarget(target.kind) && target.kind !== "grpc-js-map") return;
    const key = `${instance}|${op}|${valueBytes}`;
    if (this.primed.has(key)) return;
    const requests = primingRequests(op, valueBytes);
    const replies = await grpcCalls(target.url, requests);
    for (const reply of replies) {
      const problem = replyProblem(reply);
      if (problem !== undefined) throw new Error(`priming ${target.kind} for ${op}: ${problem}`);
    }
    this.primed.add(key);
  }
}
