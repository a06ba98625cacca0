import type { Logger } from "../core/logger.js";
import type { ServiceMetrics } from "../core/metrics.js";
import { commandStateOf } from "../store/command-state.js";
import { createMemoryCommandState } from "../store/memory/command-state.js";
import type { Store } from "../store/store.js";
import { parseCommands, type CommandsConfig } from "./definitions.js";
import { CommandRunner } from "./runner.js";

/** What {@link createCommandRunner} needs. */
export interface CommandSetup {
  /** The `commands` setting, unparsed. */
  commands: CommandsConfig | undefined;
  /** The server's store, unwrapped, so that its RunCommand state can be reached. */
  store: Store;
  logger: Logger;
  metrics?: ServiceMetrics | undefined;
  /** The server-wide upstream response limit (`limits.maxCommandResponseBytes`). */
  maxResponseBytes: number;
  /** Where secret references are looked up. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Creates the runner for a server, or undefined without commands. A store
 * without RunCommand state of its own (a test double) gets a process-local
 * one, which is correct for one instance.
 */
export function createCommandRunner(setup: CommandSetup): CommandRunner | undefined {
  const definitions = parseCommands(setup.commands, setup.env ?? process.env, setup.maxResponseBytes);
  if (definitions.size === 0) return undefined;
  const state = commandStateOf(setup.store) ?? createMemoryCommandState();
  return new CommandRunner({
    definitions,
    state,
    logger: setup.logger,
    ...(setup.metrics === undefined ? {} : { metrics: setup.metrics }),
  });
}
