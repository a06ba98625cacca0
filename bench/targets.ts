import { join } from "node:path";
import { grpcCalls, replyProblem } from "./grpc-call.js";
import { primingRequests, type Op } from "./payloads.js";
import type { Case, TargetKind } from "./plan.js";
import { freePort, startRedis, type RedisServer } from "../test/harness/redis-server.js";
import { startChild, startNodeScript, waitForPort, type Child } from "./processes.js";

/** A server that is up and answering. */
export interface RunningTarget {
  readonly kind: TargetKind;
  /** `http://127.0.0.1:<port>`, or `redis://127.0.0.1:<port>` for Redis itself. */
  readonly url: string;
  /** The process whose tree's CPU is the server's CPU. */
  readonly pid: number;
  /** Whether calls also cost redis-server CPU, which is then accounted too. */
  readonly usesRedis: boolean;
}

/** Options of {@link Targets}. */
export interface TargetOptions {
  /** The repository root, where `bin/larder.js` lives. */
  readonly repoRoot: string;
  readonly larderArgs: readonly string[];
  /** Node.js flags before `bin/larder.js`, e.g. `--cpu-prof`. */
  readonly larderNodeArgs?: readonly string[];
  readonly larderEnv: Readonly<Record<string, string>>;
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
  private readonly children: Child[] = [];

  constructor(private readonly options: TargetOptions) {}

  /** The redis-server's pid, once started. */
  async redisPid(): Promise<number | undefined> {
    return this.redis === undefined ? undefined : (await this.redis).pid;
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
    await Promise.all([...this.children.map((c) => c.stop()), this.redis?.then((r) => r.stop())]);
  }

  private async start(kind: TargetKind, valueBytes: number): Promise<RunningTarget> {
    switch (kind) {
      case "larder-memory":
        return this.startLarder(kind, { LARDER_STORE: "memory" });
      case "larder-redis": {
        const redis = await this.startRedis();
        return this.startLarder(kind, { LARDER_STORE: "redis", REDIS_URL: redis.url });
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
        return { kind, url: redis.url, pid: redis.pid, usesRedis: true };
      }
    }
  }

  private async startLarder(kind: TargetKind, storeEnv: Record<string, string>): Promise<RunningTarget> {
    const port = await freePort();
    const child = startChild(kind, process.execPath, [...(this.options.larderNodeArgs ?? []), join(this.options.repoRoot, "bin/larder.js"), "serve", ...this.options.larderArgs], {
      unsetEnv: larderVariables,
      // warn, not silent: a failure to start must leave its reason in the tail.
      env: { LARDER_PORT: String(port), LARDER_HOST: "127.0.0.1", LARDER_LOG_LEVEL: "warn", ...storeEnv, ...this.options.larderEnv },
    });
    this.children.push(child);
    await waitForPort(child, port);
    return { kind, url: `http://127.0.0.1:${port}`, pid: child.pid, usesRedis: storeEnv["LARDER_STORE"] === "redis" };
  }

  private async startScript(kind: TargetKind, script: string, config: Record<string, unknown>): Promise<RunningTarget> {
    const port = await freePort();
    const child = startNodeScript(kind, script, { ...config, port });
    this.children.push(child);
    await waitForPort(child, port);
    return { kind, url: `http://127.0.0.1:${port}`, pid: child.pid, usesRedis: false };
  }

  private startRedis(): Promise<RedisServer> {
    this.redis ??= startRedis();
    return this.redis;
  }

  /** Writes the values an op reads, through the target's own gRPC API, once per target. */
  private async prime(instance: string, target: RunningTarget, op: Op, valueBytes: number): Promise<void> {
    // Fixed-answer baselines have nothing to prime; the ioredis driver primes Redis itself.
    if (target.kind !== "larder-memory" && target.kind !== "larder-redis" && target.kind !== "grpc-js-map") return;
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
