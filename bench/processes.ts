import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A child process the bench started and will stop. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** The last few KB of its stdout and stderr, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it exited. */
  stop(): Promise<void>;
}

/** Options of {@link startChild}. */
export interface StartOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Variables of the bench's own environment the child must not inherit. */
  readonly unsetEnv?: readonly string[];
  /** Called with each stdout line, e.g. to follow a load generator's progress. */
  readonly onLine?: (line: string) => void;
}

const running = new Set<Child>();
const tailBytes = 4096;

/**
 * Starts a process with its output piped. Output is always drained, because
 * a server whose stdout pipe fills up stalls and would be measured as slow.
 */
export function startChild(name: string, command: string, args: readonly string[], options: StartOptions = {}): Child {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of options.unsetEnv ?? []) delete env[name];
  const proc = spawn(command, args, {
    env: { ...env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (proc.pid === undefined) throw new Error(`cannot start ${name} (${command}): is it installed?`);
  let tail = "";
  const keep = (text: string): void => {
    tail = (tail + text).slice(-tailBytes);
  };
  let partial = "";
  proc.stdout?.setEncoding("utf8").on("data", (text: string) => {
    keep(text);
    if (options.onLine === undefined) return;
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) options.onLine(line);
  });
  proc.stderr?.setEncoding("utf8").on("data", keep);
  proc.on("error", (err) => keep(`\n[spawn error] ${err.message}\n`));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const child: Child = {
    name,
    pid: proc.pid,
    process: proc,
    tail: () => tail.trim(),
    async stop() {
      running.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
  running.add(child);
  proc.once("exit", () => running.delete(child));
  return child;
}

/** Stops every child still running, e.g. on Ctrl-C or after a failure. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()));
}

/** Kills every child synchronously, for process exit paths that cannot wait. */
export function killAllNow(): void {
  for (const child of running) child.process.kill("SIGKILL");
}

/**
 * Waits until a port accepts TCP connections. Fails early, with the child's
 * output, if the child exits first, so a server that cannot start says why.
 */
export async function waitForPort(child: Child, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      // "exit" can come before the last output is read; "close" comes after.
      await Promise.race([new Promise((resolve) => child.process.once("close", resolve)), sleep(1000)]);
      throw new Error(`${child.name} exited (${child.process.exitCode ?? child.process.signalCode}) before listening:\n${child.tail()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`${child.name} did not listen on port ${port} within ${timeoutMs} ms:\n${child.tail()}`);
}

/** The absolute path of a compiled bench script, relative to this file (e.g. "baselines/bare-h2.js"). */
export function benchScript(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

/** Starts a compiled bench script in its own Node process, with a JSON config as its only argument. */
export function startNodeScript(name: string, relative: string, config: unknown, options: StartOptions = {}): Child {
  return startChild(name, process.execPath, [benchScript(relative), JSON.stringify(config)], options);
}

/** The repository root: the nearest folder above this file with bin/larder.js. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "bin", "larder.js"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the repository root (bin/larder.js) above the bench");
    dir = parent;
  }
  return dir;
}
