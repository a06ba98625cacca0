/**
 * Launching redis-server processes for tests: a free loopback port, a check
 * that the process answering on it is the one just started, and clean-up of
 * every process and temp dir when the test process exits, even after a
 * failed hook. Standalone servers (redis-server.ts), Cluster nodes and
 * Sentinel processes (redis-topologies.ts) are all started here.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectionOptions } from "node:tls";
import { Redis } from "ioredis";

/** Finds a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === "object") resolve(addr.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** Options of {@link launchRedis}. */
export interface LaunchRedisOptions {
  /**
   * A config file given as the first argument, before every option (Sentinel
   * needs one it can rewrite). Default none.
   */
  configFile?: string;
  /**
   * Options after the harness' own (port, bind 127.0.0.1, no persistence,
   * protected mode off, quiet log), so they can override them. Called again
   * for every port tried, so it can pick further free ports (a Cluster bus
   * port). Default none.
   */
  args?: (port: number) => string[] | Promise<string[]>;
  /** The working directory of the process. Default the test's own. */
  cwd?: string;
  /** Free ports tried before giving up, when another process takes one first. Default 5. */
  attempts?: number;
  /**
   * TLS options of the start-up probe, for a server that listens with
   * `--tls-port <port> --port 0`. Default unset: the probe uses cleartext.
   */
  probeTls?: ConnectionOptions;
}

/** One redis-server process that {@link launchRedis} started and owns. */
export interface RedisProcess {
  /** The port it listens on, kept across {@link RedisProcess.relaunch}. */
  readonly port: number;
  /** Whether the process is running. */
  readonly running: boolean;
  /** The running process' id; undefined while stopped. */
  readonly pid: number | undefined;
  /** The last few KB of its output, for error messages. */
  readonly output: string;
  /** Ends the process with `signal` (default SIGTERM) and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same arguments. */
  relaunch(): Promise<void>;
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * Kills what is left when the test process exits: afterAll hooks normally
 * stop everything, but a hook that timed out or a worker that was told to
 * exit must not leave Redis processes listening on the machine.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const cleanUp = (): void => {
    for (const child of running) child.kill("SIGKILL");
    running.clear();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.clear();
  };
  process.once("exit", cleanUp);
  // A cancelled run ends its workers by signal, which skips "exit". Clean
  // up, then die of the signal as if unhandled, unless the test runner
  // listens as well and decides itself.
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    const onSignal = (): void => {
      cleanUp();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

/** A new temp dir, removed by {@link removeTempDir} or at the latest when the process exits. */
export function makeTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Removes a dir made by {@link makeTempDir}. */
export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Starts `redis-server` from PATH on a free port and waits until that very
 * process answers. Fails loudly when redis-server is missing: the test
 * command installs it, and a suite must never pass by skipping Redis.
 */
export async function launchRedis(options: LaunchRedisOptions = {}): Promise<RedisProcess> {
  installExitHook();
  let port = 0;
  let args: string[] = [];
  let child: ChildProcess | undefined;
  let output = "";

  /**
   * Starts the process on `port` and waits until *it* answers. Checking the
   * answering server's process id matters: a free port can be taken by a
   * parallel suite between the probe and the bind, and a ping alone would
   * then be answered by the other suite's server.
   */
  const launch = async (): Promise<"ok" | "port taken"> => {
    const all = [
      ...(options.configFile === undefined ? [] : [options.configFile]),
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "no",
      "--protected-mode", "no",
      "--loglevel", "warning",
      ...args,
    ];
    const proc = spawn("redis-server", all, { stdio: ["ignore", "pipe", "pipe"], ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
    child = proc;
    running.add(proc);
    proc.once("exit", () => running.delete(proc));
    // Read the output continuously (a full pipe would block the server) and
    // keep its tail for the error message of a failed start.
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString("utf8")).slice(-4096);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    let spawnError: Error | undefined;
    proc.once("error", (err) => {
      spawnError = err;
    });
    const probe = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...(options.probeTls === undefined ? {} : { tls: options.probeTls }),
    });
    probe.on("error", () => {});
    try {
      for (let i = 0; i < 200; i++) {
        if (spawnError !== undefined) {
          throw new Error(`cannot start redis-server: ${spawnError.message}`);
        }
        if (exited(proc)) return "port taken";
        try {
          await probe.connect();
          const info = await probe.info("server");
          if (new RegExp(`process_id:${proc.pid}\\b`).test(info)) return "ok";
          probe.disconnect();
          await sleep(25);
        } catch {
          probe.disconnect();
          await sleep(25);
        }
      }
      throw new Error(`redis-server did not answer on port ${port}:\n${output}`);
    } finally {
      probe.disconnect();
    }
  };

  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || exited(proc)) return;
    const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    await gone;
  };

  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    args = (await options.args?.(port)) ?? [];
    try {
      if ((await launch()) === "ok") break;
    } catch (err) {
      await stop("SIGKILL");
      throw err;
    }
    await stop();
    if (attempt >= attempts) throw new Error(`could not start redis-server: every free port was taken before it could bind\n${output}`);
  }
  return {
    get port() {
      return port;
    },
    get pid() {
      return child !== undefined && !exited(child) ? child.pid : undefined;
    },
    get running() {
      return child !== undefined && !exited(child);
    },
    get output() {
      return output;
    },
    stop,
    relaunch: async () => {
      await stop();
      if ((await launch()) !== "ok") throw new Error(`redis-server could not bind its port ${port} again\n${output}`);
    },
  };
}
