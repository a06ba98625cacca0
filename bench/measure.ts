import { cpuDelta, readCpu, type CpuReading } from "./cpu.js";
import { verifyGrpc } from "./grpc-call.js";
import { verifyJsonH1 } from "./json-call.js";
import type { DriverKind, NodeLoadConfig } from "./load/driver.js";
import { runH2load } from "./load/h2load.js";
import type { NodeLoadEvent } from "./load/node-load.js";
import type { LoadResult, WindowHooks } from "./load/result.js";
import { grpcFrame, requestFor } from "./payloads.js";
import type { Case, Section } from "./plan.js";
import { startNodeScript } from "./processes.js";
import type { RunningTarget, Targets } from "./targets.js";

/** The tool that drove a section's load. */
export type LoadTool = "h2load" | "h2load --h1" | DriverKind;

/** The load tool of each section. */
export const toolOf: Readonly<Record<Section, LoadTool>> = {
  "grpc-raw": "h2load",
  "grpc-sdk": "sdk-grpc",
  "connect-json-h1": "h2load --h1",
  "redis-direct": "ioredis",
};

/** One measured case: what the load saw, and what it cost the servers. */
export interface Row extends Case, LoadResult {
  readonly tool: LoadTool;
  /** CPU of the target's own process tree per call, in µs (absent for redis-direct, whose server is Redis). */
  readonly serverCpuUsPerCall?: number;
  /** redis-server CPU per call, in µs, when the call reaches Redis. */
  readonly redisCpuUsPerCall?: number;
  /** Everything serving the call (target + Redis) per call, in µs: what comparisons use. */
  readonly cpuUsPerCall: number;
  /** The load generator's CPU as a share of one core; near 100 % it, not the server, may be the limit. */
  readonly loadgenCorePct: number;
  /** Other processes' CPU during the window, in cores: load from outside the bench. */
  readonly otherCores: number;
}

/** Timing of one case. */
export interface Timing {
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** Scratch space for h2load's files. */
  readonly workDir: string;
}

/**
 * Runs one case: starts (or reuses) its target, checks one real call, runs
 * the load, and reads CPU times of the server, Redis and the load generator
 * at the edges of the measured window.
 */
export async function runCase(c: Case, targets: Targets, timing: Timing): Promise<Row> {
  const target = await targets.forCase(c);
  // For redis-direct the server is Redis itself: target.pids, no backend.
  const redisPids = target.backend === undefined ? [] : await targets.redisPids(target.backend);
  const pids: Record<string, readonly number[]> = { server: target.pids, redis: redisPids, loadgen: [] };
  let before: CpuReading | undefined;
  let after: CpuReading | undefined;
  const hooks: WindowHooks = {
    started: (pid) => {
      pids["loadgen"] = [pid];
    },
    windowStart: () => {
      before = readCpu(pids);
    },
    windowEnd: () => {
      after = readCpu(pids);
    },
  };
  const tool = c.target === "redis-cluster" ? "ioredis-cluster" : toolOf[c.section];
  const result =
    tool === "h2load"
      ? await runRaw(c, target, timing, hooks)
      : tool === "h2load --h1"
        ? await runJsonH1(c, target, timing, hooks)
        : await runNode(c, tool, target, timing, hooks);
  if (before === undefined || after === undefined) throw new Error("the load ended without a measured window");
  // Zero calls would read as "0 calls/s" with blank latencies; it means the
  // window was shorter than one call, which is a setup problem, not a figure.
  if (result.calls === 0) throw new Error(`no call completed in the ${timing.durationSeconds} s window; try a longer --duration`);
  const delta = cpuDelta(before, after);
  const perCall = (seconds: number | undefined): number | undefined =>
    seconds === undefined || result.callsPerSec === 0 ? undefined : (seconds / delta.wallSeconds / result.callsPerSec) * 1e6;
  const server = c.section === "redis-direct" ? undefined : perCall(delta.byRole["server"]);
  const redis = c.section === "redis-direct" ? perCall(delta.byRole["server"]) : perCall(delta.byRole["redis"]);
  return {
    ...c,
    ...result,
    tool,
    ...(server === undefined ? {} : { serverCpuUsPerCall: server }),
    ...(redis === undefined ? {} : { redisCpuUsPerCall: redis }),
    cpuUsPerCall: (server ?? 0) + (redis ?? 0),
    loadgenCorePct: ((delta.byRole["loadgen"] ?? 0) / delta.wallSeconds) * 100,
    otherCores: delta.otherSeconds / delta.wallSeconds,
  };
}

async function runRaw(c: Case, target: RunningTarget, timing: Timing, hooks: WindowHooks): Promise<LoadResult> {
  const request = requestFor(c.op, c.valueBytes);
  await verifyGrpc(target.url, c.op, c.valueBytes, request);
  return runH2load(
    {
      baseUrl: target.url,
      path: request.path,
      body: grpcFrame(request.binary),
      headers: ["content-type: application/grpc", "te: trailers"],
      connections: c.connections,
      streamsPerConnection: Math.max(1, Math.round(c.inFlight / c.connections)),
      warmupSeconds: timing.warmupSeconds,
      durationSeconds: timing.durationSeconds,
      workDir: timing.workDir,
    },
    hooks,
  );
}

async function runJsonH1(c: Case, target: RunningTarget, timing: Timing, hooks: WindowHooks): Promise<LoadResult> {
  const request = requestFor(c.op, c.valueBytes);
  await verifyJsonH1(target.url, c.op, request);
  return runH2load(
    {
      baseUrl: target.url,
      path: request.path,
      body: Buffer.from(request.json),
      headers: ["content-type: application/json"],
      h1: true,
      connections: c.connections,
      // HTTP/1.1 has one request in flight per connection.
      streamsPerConnection: 1,
      warmupSeconds: timing.warmupSeconds,
      durationSeconds: timing.durationSeconds,
      workDir: timing.workDir,
    },
    hooks,
  );
}

async function runNode(c: Case, driver: DriverKind, target: RunningTarget, timing: Timing, hooks: WindowHooks): Promise<LoadResult> {
  const config: NodeLoadConfig = {
    driver,
    url: target.url,
    op: c.op,
    valueBytes: c.valueBytes,
    inFlight: c.inFlight,
    connections: c.connections,
    warmupSeconds: timing.warmupSeconds,
    durationSeconds: timing.durationSeconds,
  };
  let result: LoadResult | undefined;
  let failure: string | undefined;
  const child = startNodeScript("node-load", "load/node-load.js", config, {
    onLine: (line) => {
      if (!line.startsWith("{")) return;
      const event = JSON.parse(line) as NodeLoadEvent;
      if (event.event === "measuring") hooks.windowStart();
      else if (event.event === "measured") hooks.windowEnd();
      else if (event.event === "done") result = event.result;
      else failure = event.message;
    },
  });
  hooks.started(child.pid);
  const limit = setTimeout(() => child.process.kill("SIGKILL"), (timing.warmupSeconds + timing.durationSeconds + 60) * 1000);
  await new Promise<void>((resolve) => child.process.once("close", () => resolve()));
  clearTimeout(limit);
  if (result !== undefined) return result;
  throw new Error(`load generator (${driver}) failed: ${failure ?? child.tail()}`);
}
