import { launchRedis } from "./redis-process.js";

export { freePort } from "./redis-process.js";

/**
 * A redis-server started by a test run or the bench, on a free port,
 * without persistence (a snapshot written mid-run would be measured).
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The running process' id (the bench counts its CPU); undefined while stopped. */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
}

/**
 * Starts `redis-server` from PATH. Fails loudly when it is missing: the test
 * command installs it, and a suite must never pass by skipping Redis.
 */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const proc = await launchRedis({ args: () => extraArgs });
  return {
    port: proc.port,
    url: `redis://127.0.0.1:${proc.port}`,
    get pid() {
      return proc.pid;
    },
    stop: () => proc.stop(),
    restart: () => proc.relaunch(),
  };
}
