/**
 * Command definitions: the `commands` setting of the config file, validated
 * once at start-up so that a typo fails the boot rather than a caller's run.
 */

/** A static header value, or a reference to an environment variable that holds a secret. */
export type HeaderValue = string | { env: string };

/** One command as written in the config file. */
export interface CommandConfig {
  /** HTTP method. Default "GET". */
  method?: string;
  /** URL template with `{arg}` placeholders in the path or query. */
  url: string;
  /** The args a caller may pass; every placeholder must be one of them. */
  args?: string[];
  /** Static headers sent upstream; secrets as `{ "env": "VAR" }`. */
  headers?: Record<string, HeaderValue>;
  /** Caller headers let through to the upstream (and into the cache identity). */
  passHeaders?: string[];
  /** Upstream timeout in ms. Default 10 000. */
  timeoutMs?: number;
  /** Largest upstream body accepted, in bytes. Default: the server limit. */
  maxResponseBytes?: number;
  /** Seconds a response is served fresh (15–600). Unset: nothing is cached. */
  cacheSeconds?: number;
  /** Allows loopback, private and link-local upstream addresses. Default false. */
  allowPrivateNetwork?: boolean;
  /**
   * Host names (exactly as in URLs) allowed to resolve to private addresses,
   * e.g. an internal service, while every other host, redirect targets
   * included, is still checked.
   */
  allowPrivateHosts?: string[];
}

/** The `commands` setting: namespace, then command name. */
export type CommandsConfig = Record<string, Record<string, CommandConfig>>;

/** A validated command, ready to run. Secret header values are resolved here and never leave the process. */
export interface CommandDefinition {
  readonly namespace: string;
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly args: readonly string[];
  /** Resolved static headers (lower-case names); values may be secrets. */
  readonly headers: ReadonlyMap<string, string>;
  /** Every resolved secret value, so that output can be scrubbed of them. */
  readonly secrets: readonly string[];
  readonly passHeaders: readonly string[];
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly cacheSeconds: number | undefined;
  readonly allowPrivateNetwork: boolean;
  readonly allowPrivateHosts: readonly string[];
}

/** A command definition error, naming the setting. */
export class CommandConfigError extends Error {
  override readonly name = "CommandConfigError";
}

const knownSettings = [
  "method", "url", "args", "headers", "passHeaders", "timeoutMs", "maxResponseBytes", "cacheSeconds", "allowPrivateNetwork",
  "allowPrivateHosts",
] as const;
const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
const tokenRe = /^[A-Za-z0-9_-]{1,64}$/;
const headerNameRe = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Validates the `commands` setting and resolves secret references.
 * @param raw the setting as parsed from JSON (undefined: no commands).
 * @param env where `{ "env": "VAR" }` references are looked up.
 * @param defaultMaxResponseBytes the server-wide response limit.
 */
export function parseCommands(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  defaultMaxResponseBytes: number,
): Map<string, Map<string, CommandDefinition>> {
  const out = new Map<string, Map<string, CommandDefinition>>();
  if (raw === undefined) return out;
  if (!isObject(raw)) throw new CommandConfigError("commands: must be an object of namespaces");
  for (const [ns, cmds] of Object.entries(raw)) {
    if (!isObject(cmds)) throw new CommandConfigError(`commands.${ns}: must be an object of commands`);
    const byName = new Map<string, CommandDefinition>();
    for (const [name, c] of Object.entries(cmds)) {
      byName.set(name, parseOne(`commands.${ns}.${name}`, ns, name, c, env, defaultMaxResponseBytes));
    }
    out.set(ns, byName);
  }
  return out;
}

function parseOne(
  where: string,
  namespace: string,
  name: string,
  c: unknown,
  env: NodeJS.ProcessEnv,
  defaultMax: number,
): CommandDefinition {
  if (!tokenRe.test(name)) throw new CommandConfigError(`${where}: a command name is 1-64 of [A-Za-z0-9_-]`);
  if (!isObject(c)) throw new CommandConfigError(`${where}: must be an object`);
  for (const key of Object.keys(c)) {
    if (!(knownSettings as readonly string[]).includes(key)) {
      throw new CommandConfigError(`${where}.${key}: unknown setting; known: ${knownSettings.join(", ")}`);
    }
  }
  const method = c["method"] === undefined ? "GET" : String(c["method"]).toUpperCase();
  if (!methods.includes(method)) throw new CommandConfigError(`${where}.method: must be one of ${methods.join(", ")}`);
  const args = stringList(`${where}.args`, c["args"]);
  for (const a of args) if (!tokenRe.test(a)) throw new CommandConfigError(`${where}.args: "${a}" is not 1-64 of [A-Za-z0-9_-]`);
  const url = checkTemplate(`${where}.url`, c["url"], args);
  const headers = new Map<string, string>();
  const secrets: string[] = [];
  const rawHeaders = c["headers"] ?? {};
  if (!isObject(rawHeaders)) throw new CommandConfigError(`${where}.headers: must be an object`);
  for (const [h, v] of Object.entries(rawHeaders)) {
    if (!headerNameRe.test(h)) throw new CommandConfigError(`${where}.headers.${h}: not a valid header name`);
    if (typeof v === "string") headers.set(h.toLowerCase(), v);
    else if (isObject(v) && typeof v["env"] === "string" && Object.keys(v).length === 1) {
      const value = env[v["env"]];
      // The message names the variable, never a value.
      if (value === undefined || value === "") {
        throw new CommandConfigError(`${where}.headers.${h}: environment variable ${v["env"]} is not set`);
      }
      headers.set(h.toLowerCase(), value);
      secrets.push(value);
    } else throw new CommandConfigError(`${where}.headers.${h}: must be a string or { "env": "VAR" }`);
  }
  const passHeaders = stringList(`${where}.passHeaders`, c["passHeaders"]).map((h) => {
    if (!headerNameRe.test(h)) throw new CommandConfigError(`${where}.passHeaders: "${h}" is not a valid header name`);
    return h.toLowerCase();
  });
  const timeoutMs = int(`${where}.timeoutMs`, c["timeoutMs"], 1, 120_000) ?? 10_000;
  const maxResponseBytes = int(`${where}.maxResponseBytes`, c["maxResponseBytes"], 1, defaultMax) ?? defaultMax;
  const cacheSeconds = int(`${where}.cacheSeconds`, c["cacheSeconds"], 15, 600);
  const allow = c["allowPrivateNetwork"] ?? false;
  if (typeof allow !== "boolean") throw new CommandConfigError(`${where}.allowPrivateNetwork: must be true or false`);
  return {
    namespace, name, method, url, args, headers, secrets, passHeaders, timeoutMs, maxResponseBytes, cacheSeconds,
    allowPrivateNetwork: allow,
    allowPrivateHosts: stringList(`${where}.allowPrivateHosts`, c["allowPrivateHosts"]).map((h) => h.toLowerCase()),
  };
}

/** Placeholders may sit only after the origin, so that no arg can ever choose the host. */
function checkTemplate(where: string, v: unknown, args: readonly string[]): string {
  if (typeof v !== "string" || v === "") throw new CommandConfigError(`${where}: required, an http(s) URL template`);
  const m = /^(https?:\/\/[^/?#{}]+)([/?#].*)?$/.exec(v);
  if (m === null) throw new CommandConfigError(`${where}: must be http(s)://host[:port]/… with placeholders only after the host`);
  try {
    new URL(m[1] ?? "");
  } catch {
    throw new CommandConfigError(`${where}: the origin is not a valid URL`);
  }
  if (/@/.test(m[1] ?? "")) throw new CommandConfigError(`${where}: must not carry credentials; use headers`);
  for (const p of v.matchAll(/\{([^}]*)\}/g)) {
    if (!args.includes(p[1] ?? "")) throw new CommandConfigError(`${where}: placeholder {${p[1]}} is not in args`);
  }
  return v;
}

function stringList(where: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new CommandConfigError(`${where}: must be a list of strings`);
  }
  return v as string[];
}

function int(where: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new CommandConfigError(`${where}: must be an integer from ${min} to ${max}`);
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
