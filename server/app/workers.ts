import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../core/logger.js";

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  /** How many server processes to run; each serves the same port. */
  readonly workers: number;
  readonly logger: Logger;
  /** How long to wait for workers to drain after a signal before killing them, in ms. */
  readonly drainTimeoutMs: number;
  /** Pass SIGHUP on to the workers (which re-read their TLS files) instead of exiting on it. Default false. */
  readonly forwardSighup?: boolean;
}

/** Whether this process is a worker forked by {@link runPrimary}. */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs the primary of `larder serve --workers N`: it only forks N workers
 * (which run the normal server on the shared port, node:cluster handing out
 * connections) and forwards SIGTERM/SIGINT to them. A worker that dies on
 * its own is replaced, so one crash never halves the capacity for good.
 * Resolves with the exit code once every worker has stopped after a signal.
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger } = options;
  let stopping = false;
  let failed = false;
  const live = new Set<Worker>();
  let lastRespawn = 0;

  const fork = (): void => {
    const worker = cluster.fork();
    live.add(worker);
    worker.once("exit", (code, signal) => {
      live.delete(worker);
      if (stopping) {
        if (code !== 0) failed = true;
        if (live.size === 0) done?.();
        return;
      }
      logger.error("worker exited; starting another", { pid: worker.process.pid, code: code ?? undefined, signal: signal ?? undefined });
      // A worker that cannot start at all (bad port, bad config) would
      // otherwise be re-forked in a tight loop.
      const wait = Date.now() - lastRespawn < 1000 ? 1000 : 0;
      lastRespawn = Date.now();
      setTimeout(() => {
        if (!stopping) fork();
      }, wait).unref();
    });
  };

  let done: (() => void) | undefined;
  return new Promise<number>((resolve) => {
    done = () => {
      logger.info("stopped");
      resolve(failed ? 1 : 0);
    };
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info("shutting down", { signal, workers: live.size });
      if (live.size === 0) done?.();
      for (const worker of live) worker.process.kill("SIGTERM");
      // Each worker drains within its own drain timeout; this is the backstop.
      setTimeout(() => {
        for (const worker of live) worker.process.kill("SIGKILL");
      }, options.drainTimeoutMs + 5000).unref();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
    if (options.forwardSighup === true) {
      process.on("SIGHUP", () => {
        for (const worker of live) worker.process.kill("SIGHUP");
      });
    }
    for (let i = 0; i < options.workers; i++) fork();
    logger.info("larder workers started", { workers: options.workers, pid: process.pid });
  });
}
