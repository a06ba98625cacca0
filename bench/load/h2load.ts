import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startChild } from "../processes.js";
import { latencySummary, type LoadResult, type WindowHooks } from "./result.js";

/** One h2load run: the same pre-encoded POST every time. */
export interface H2loadRun {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  readonly path: string;
  /** The request body, e.g. a gRPC frame (5-byte prefix plus the protobuf message) or JSON. */
  readonly body: Buffer;
  /** The request headers, as `name: value`. */
  readonly headers: readonly string[];
  /** HTTP/1.1 (`--h1`, one request at a time per keep-alive connection) instead of h2c. */
  readonly h1?: boolean;
  readonly connections: number;
  /** Concurrent streams per connection (h2load -m); 1 for HTTP/1.1. */
  readonly streamsPerConnection: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** A scratch directory for the request file and the per-request log. */
  readonly workDir: string;
}

/**
 * h2load prints its phase changes on stdout, but block-buffers them into a
 * pipe; `stdbuf -oL` makes them arrive as they happen, which is what lets the
 * bench read CPU times at the real window edges. Without stdbuf the edges
 * are estimated with timers.
 */
const hasStdbuf = spawnSync("stdbuf", ["--version"], { stdio: "ignore" }).status === 0;

const ms = (seconds: number): string => `${Math.round(seconds * 1000)}ms`;

/**
 * Runs h2load (raw gRPC over h2c, or Connect JSON over HTTP/1.1: one C
 * process drives either far past what a Node load generator could) and
 * returns throughput from its summary and p50/p99 from its
 * per-request log (h2load itself reports only mean and standard deviation).
 * The log covers the main duration only, not the warm-up.
 */
export async function runH2load(run: H2loadRun, hooks: WindowHooks): Promise<LoadResult> {
  const bodyFile = join(run.workDir, "request.body");
  const logFile = join(run.workDir, "h2load.log");
  writeFileSync(bodyFile, run.body);
  writeFileSync(logFile, "");
  const args = [
    "-c", String(run.connections),
    "-m", String(run.streamsPerConnection),
    "-t", "1",
    "-D", ms(run.durationSeconds),
    `--warm-up-time=${ms(run.warmupSeconds)}`,
    `--log-file=${logFile}`,
    "-d", bodyFile,
    ...run.headers.flatMap((h) => ["-H", h]),
    ...(run.h1 === true ? ["--h1"] : []),
    `${run.baseUrl}${run.path}`,
  ];
  let windowOpen = false;
  let windowClosed = false;
  const openWindow = (): void => {
    if (windowOpen) return;
    windowOpen = true;
    hooks.windowStart();
  };
  const closeWindow = (): void => {
    if (!windowOpen || windowClosed) return;
    windowClosed = true;
    hooks.windowEnd();
  };
  const child = hasStdbuf
    ? startChild("h2load", "stdbuf", ["-oL", "h2load", ...args], {
        onLine: (line) => {
          if (line.startsWith("Main benchmark duration is started")) openWindow();
          else if (line.startsWith("Main benchmark duration is over")) closeWindow();
        },
      })
    : startChild("h2load", "h2load", args);
  hooks.started(child.pid);
  const timers = hasStdbuf
    ? []
    : [setTimeout(openWindow, run.warmupSeconds * 1000), setTimeout(closeWindow, (run.warmupSeconds + run.durationSeconds) * 1000)];
  const limit = setTimeout(() => child.process.kill("SIGKILL"), (run.warmupSeconds + run.durationSeconds + 30) * 1000);
  const code = await new Promise<number | null>((resolve) => child.process.once("exit", (c) => resolve(c)));
  clearTimeout(limit);
  for (const t of timers) clearTimeout(t);
  closeWindow();
  const output = child.tail();
  if (code !== 0) throw new Error(`h2load exited with ${code}:\n${output}`);
  return parseH2load(output, readFileSync(logFile, "utf8"), run.durationSeconds);
}

/** Reads h2load's summary lines and per-request log into a {@link LoadResult}. */
export function parseH2load(output: string, log: string, durationSeconds: number): LoadResult {
  const reqPerSec = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(output)?.[1]);
  const counts = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded/.exec(output);
  if (!Number.isFinite(reqPerSec) || counts === null) throw new Error(`cannot read h2load's summary:\n${output}`);
  const done = Number(counts[3]);
  const succeeded = Number(counts[4]);
  const latencies: number[] = [];
  let non200 = 0;
  for (const line of log.split("\n")) {
    if (line === "") continue;
    const [, status, elapsedUs] = line.split("\t");
    // Status 0 marks requests cut off when the window closed, not failures.
    if (status === "200") latencies.push(Number(elapsedUs));
    else if (status !== "0") non200++;
  }
  const { p50Us, p99Us } = latencySummary(Float64Array.from(latencies));
  const errors = Math.max(done - succeeded, non200);
  return {
    calls: succeeded,
    seconds: durationSeconds,
    callsPerSec: done > 0 ? (reqPerSec * succeeded) / done : 0,
    p50Us,
    p99Us,
    errors,
    ...(errors > 0 ? { firstError: `${errors} of ${done} requests failed or answered non-200` } : {}),
  };
}
