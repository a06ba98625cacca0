import pino from "pino";

/** Log levels, from the most to the least verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const levels: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** Fields of a log line. Never put keys, values or secrets here. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** A structured logger: one JSON object per line. */
export interface Logger {
  /** The lowest level written; callers skip building debug fields above it. */
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The lowest level written. Default "info". */
  level?: LogLevel;
  /** Where lines go. Default process.stdout. */
  write?: (line: string) => void;
}

/** Whether a string names a log level. */
export function isLogLevel(s: string): s is LogLevel {
  return (levels as readonly string[]).includes(s);
}

/**
 * Creates a JSON-lines logger on pino: `{"level":"info","time":"<ISO 8601>",
 * "pid":…,"hostname":…,"msg":…, …fields}`. Levels are written as names, not
 * pino's numbers, so that log pipelines and people read them alike.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const write = options.write;
  const log = pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // pino's own stdout destination writes synchronously, so nothing is
    // lost when the process exits right after logging.
    write === undefined ? undefined : { write },
  );
  return {
    level,
    debug: (msg, fields) => log.debug(fields ?? {}, msg),
    info: (msg, fields) => log.info(fields ?? {}, msg),
    warn: (msg, fields) => log.warn(fields ?? {}, msg),
    error: (msg, fields) => log.error(fields ?? {}, msg),
  };
}
