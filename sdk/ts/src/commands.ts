import type { CallOptions, Client } from "@connectrpc/connect";
import type { CacheService } from "../gen/larder/v1/cache_pb.js";
import { CommandEventKind, ServedFrom } from "../gen/larder/v1/command_pb.js";
import type { Idempotency } from "./retry.js";

/** What {@link Cache.runCommand} sends. */
export interface RunCommandOptions {
  /** Values for the command's URL placeholders. */
  args?: Record<string, string>;
  /** Caller headers; the server passes on only those the command allows. */
  headers?: Record<string, string>;
  /** The request body: a string, bytes, or any other value sent as JSON. */
  body?: unknown;
}

/** The answer of {@link Cache.runCommand}. */
export interface CommandResult<T = unknown> {
  /** The upstream's HTTP status (a cached one in fallback). */
  status: number;
  /** The upstream's response headers, lower-case names. */
  headers: Record<string, string>;
  /** Parsed JSON for JSON responses, a string for other text, bytes otherwise. */
  body: T;
  /** How it was served. */
  servedFrom: "live" | "cached" | "fallback";
  /** True when a cached response stands in for a failing upstream. */
  fallback: boolean;
  /** The response's age in milliseconds; 0 when live. */
  ageMs: number;
  /** The upstream URL, without secrets. */
  url: string;
}

/** One fallback change of a command, as {@link Cache.commandEvents} lists it. */
export interface CommandEvent {
  time: Date;
  command: string;
  /** The upstream status that caused it; 0 for a timeout or connection failure. */
  upstreamStatus: number;
  kind: "activated" | "deactivated";
}

/** Runs one RPC with the cache's deadline, headers and retry policy. */
export type Call = <R>(idempotency: Idempotency, rpc: (c: Client<typeof CacheService>, o: CallOptions) => Promise<R>) => Promise<R>;

const served = { [ServedFrom.LIVE]: "live", [ServedFrom.CACHED]: "cached", [ServedFrom.FALLBACK]: "fallback" } as const;

/** RunCommand for the SDK. Not retried: a command may not be safe to repeat. */
export async function runCommand<T>(call: Call, name: string, options: RunCommandOptions = {}): Promise<CommandResult<T>> {
  const b = options.body;
  const body =
    b === undefined
      ? undefined
      : b instanceof Uint8Array
        ? { kind: { case: "binary" as const, value: b } }
        : { kind: { case: "text" as const, value: typeof b === "string" ? b : JSON.stringify(b) } };
  const res = await call("once", (c, o) =>
    c.runCommand({ name, args: options.args ?? {}, headers: options.headers ?? {}, ...(body === undefined ? {} : { body }) }, o),
  );
  const headers: Record<string, string> = {};
  for (const h of res.headers) headers[h.name] = h.name in headers ? `${headers[h.name]}, ${h.value}` : h.value;
  let out: unknown;
  if (res.body?.kind.case === "binary") out = res.body.kind.value;
  else {
    const text = res.body?.kind.case === "text" ? res.body.kind.value : "";
    out = text;
    if (/[/+]json\b/i.test(headers["content-type"] ?? "")) {
      try {
        out = JSON.parse(text);
      } catch {
        // A body that claims JSON but is not stays text rather than failing the call.
      }
    }
  }
  return {
    status: res.status,
    headers,
    body: out as T,
    servedFrom: served[res.servedFrom as keyof typeof served] ?? "live",
    fallback: res.cacheFallback,
    ageMs: Number(res.ageMs),
    url: res.url,
  };
}

/** ListCommandEvents for the SDK: newest first. */
export async function commandEvents(call: Call, command?: string, limit?: number): Promise<CommandEvent[]> {
  const res = await call("idempotent", (c, o) => c.listCommandEvents({ command: command ?? "", limit: limit ?? 0 }, o));
  return res.events.map((e) => ({
    time: new Date(Number(e.time?.seconds ?? 0n) * 1000 + Math.floor((e.time?.nanos ?? 0) / 1e6)),
    command: e.command,
    upstreamStatus: e.upstreamStatus,
    kind: e.kind === CommandEventKind.FALLBACK_DEACTIVATED ? "deactivated" : "activated",
  }));
}
