/**
 * A Larder server as a drill runs it: `larder serve` in its own process, on
 * a free port, so that a drill can watch it survive (or not) what it does
 * to Redis.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startChild, waitForPort, type Child } from "../bench/processes.js";
import { freePort } from "../test/harness/redis-server.js";

/** A running `larder serve`. */
export interface LarderProcess {
  readonly url: string;
  readonly child: Child;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Its resident set size in bytes, from /proc. */
  rssBytes(): number;
  stop(): Promise<void>;
}

/** Starts `larder serve` with `env` (LARDER_PORT and LARDER_HOST are set here). */
export async function startLarder(root: string, name: string, env: Record<string, string>): Promise<LarderProcess> {
  const port = await freePort();
  const child = startChild(name, process.execPath, [join(root, "bin/larder.js"), "serve"], {
    env: { LARDER_PORT: String(port), LARDER_HOST: "127.0.0.1", LARDER_LOG_LEVEL: "warn", ...env },
  });
  await waitForPort(child, port);
  const alive = (): boolean => child.process.exitCode === null && child.process.signalCode === null;
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    alive,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
    },
    stop: () => child.stop(),
  };
}
