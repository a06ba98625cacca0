import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

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

const started = new Set<ChildProcess>();
// A run that ends without stopping its servers (a failed hook, Ctrl-C in the
// bench) must not leave redis-server processes behind.
process.once("exit", () => {
  for (const proc of started) proc.kill("SIGKILL");
});

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

/**
 * Starts `redis-server` from PATH. Fails loudly when it is missing: the test
 * command installs it, and a suite must never pass by skipping Redis.
 */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  let port = 0;
  let child: ChildProcess | undefined;

  /**
   * Starts redis-server on `port` and waits until *that* process answers.
   * Checking the answering server's process id matters: a free port can be
   * taken by a parallel suite between the probe and the bind, and a ping
   * alone would then be answered by the other suite's server.
   */
  const launch = async (): Promise<"ok" | "port taken"> => {
    const args = [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "no",
      "--protected-mode", "no",
      "--loglevel", "warning",
      ...extraArgs,
    ];
    const proc = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    started.add(proc);
    proc.once("exit", () => started.delete(proc));
    let spawnError: Error | undefined;
    proc.once("error", (err) => {
      spawnError = err;
    });
    const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      for (let i = 0; i < 200; i++) {
        if (spawnError !== undefined) {
          throw new Error(`cannot start redis-server: ${spawnError.message}`);
        }
        if (proc.exitCode !== null) return "port taken";
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
      throw new Error(`redis-server did not answer on port ${port}`);
    } finally {
      probe.disconnect();
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    await exited;
  };

  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const started = await launch();
    if (started === "ok") break;
    await stop();
    if (attempt === 4) throw new Error("could not start redis-server: every free port was taken before it could bind");
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    stop,
    restart: async () => {
      await stop();
      if ((await launch()) !== "ok") throw new Error(`redis-server could not bind its port ${port} again`);
    },
  };
}
