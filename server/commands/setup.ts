import type { Logger } from "../core/logger.js";
import type { ServiceMetrics } from "../core/metrics.js";
import type { Store } from "../store/store.js";
import { parseCommands, type CommandsConfig } from "./definitions.js";
import { CommandRunner } from "./runner.js";

/** What {@link createCommandRunner} needs. */
export interface CommandSetup {
  /** The `commands` setting, unparsed. */
  commands: CommandsConfig | undefined;
  /** The server's store, whose RunCommand state the runner keeps its state in. */
  store: Store;
  logger: Logger;
  metrics?: ServiceMetrics | undefined;
  /** The server-wide upstream response limit (`limits.maxCommandResponseBytes`). */
  maxResponseBytes: number;
  /** Where secret references are looked up. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Creates the runner for a server, or undefined without commands. */
export function createCommandRunner(setup: CommandSetup): CommandRunner | undefined {
  const definitions = parseCommands(setup.commands, setup.env ?? process.env, setup.maxResponseBytes);
  if (definitions.size === 0) return undefined;
  return new CommandRunner({
    definitions,
    state: setup.store.commandState,
    logger: setup.logger,
    ...(setup.metrics === undefined ? {} : { metrics: setup.metrics }),
  });
}
