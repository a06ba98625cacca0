/**
 * `larder serve` as a user runs it: a separate process on a free port whose
 * output a test reads. The app suites start it this way; the in-process
 * server of ./larder.ts is for everything else.
 */

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { expect } from "vitest";
import { freePort } from "./redis-server.js";

/** A running process and everything it has printed so far. */
export interface LarderCli {
  readonly proc: ChildProcess;
  /** Standard output and standard error, interleaved as they came. */
  logs(): string;
}

/** Runs `command` and keeps what it prints on both streams. */
export function spawnLarder(command: string, args: readonly string[], options: SpawnOptions): LarderCli {
  const proc = spawn(command, [...args], { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { proc, logs: () => out };
}

/** `node bin/larder.js serve <args>` on `port`, with the test's environment plus `env`. */
export function startServe(args: readonly string[], env: Record<string, string>, port: number): LarderCli {
  return spawnLarder(process.execPath, ["bin/larder.js", "serve", ...args], {
    env: { ...process.env, LARDER_PORT: String(port), LARDER_HOST: "127.0.0.1", ...env },
  });
}

/** Waits up to 10 s for "larder listening"; throws with the output if the process exits first. */
export async function untilListening(cli: LarderCli): Promise<void> {
  for (let i = 0; i < 200 && !cli.logs().includes("larder listening"); i++) {
    if (cli.proc.exitCode !== null) throw new Error(`larder exited: ${cli.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(cli.logs()).toContain("larder listening");
}

/** Starts `larder serve` with `env` on a free port and waits until it listens. */
export async function serveLarder(env: Record<string, string>): Promise<LarderCli & { port: number }> {
  const port = await freePort();
  const cli = startServe([], env, port);
  await untilListening(cli);
  return { ...cli, port };
}

/** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
export function stopLarder(proc: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  proc.kill(signal);
  return exited;
}
