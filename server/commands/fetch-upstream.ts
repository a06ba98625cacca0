import { Agent, fetch, type Response } from "undici";
import { LarderError } from "../core/errors.js";
import type { CommandDefinition } from "./definitions.js";
import { checkTarget, guardedLookup, systemResolver, type Resolver } from "./ssrf.js";

/** An upstream HTTP response as Larder keeps and returns it. */
export interface UpstreamResponse {
  status: number;
  /** Lower-case names, in upstream order. */
  headers: [string, string][];
  body: { kind: "text"; text: string } | { kind: "binary"; base64: string };
}

/**
 * The upstream could not answer at all: the failures that, like a 4xx/5xx,
 * switch a command into fallback. `status` 0 in events stands for these.
 */
export class UpstreamFailure extends Error {
  override readonly name = "UpstreamFailure";
  /**
   * @param kind a timeout, or a connection failure (refused, reset, DNS, TLS).
   * @param message safe to show: names the command and host, never args or secrets.
   */
  constructor(
    readonly kind: "timeout" | "connection",
    message: string,
  ) {
    super(message);
  }
}

/** One request to send. */
export interface UpstreamRequest {
  url: URL;
  headers: Record<string, string>;
  body: Uint8Array | string | undefined;
}

const maxRedirects = 5;

/**
 * One connection pool per command, whose DNS lookup refuses forbidden
 * addresses itself. The check before each hop gives the clear error; this
 * one closes DNS rebinding, where a name would pass that check and then
 * resolve to a private address when the connection is made.
 */
const agents = new WeakMap<CommandDefinition, Agent>();

function agentFor(def: CommandDefinition): Agent {
  let agent = agents.get(def);
  if (agent === undefined) {
    agent = new Agent({ connect: { lookup: guardedLookup(def) } });
    agents.set(def, agent);
  }
  return agent;
}
// Headers that describe the transfer, not the content: the body is already
// decoded and re-framed by the time a caller sees it.
const hopHeaders = new Set(["content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"]);

/**
 * Calls the upstream with the command's timeout and size limit, following
 * redirects by hand so that each hop passes the same address check as the
 * first; fetch's own redirect mode would connect before we could look.
 */
export async function fetchUpstream(
  def: CommandDefinition,
  req: UpstreamRequest,
  signal: AbortSignal,
  resolve: Resolver = systemResolver,
): Promise<UpstreamResponse> {
  const timeout = AbortSignal.timeout(def.timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  let url = req.url;
  let method = def.method;
  let body = req.body;
  let headers = req.headers;
  for (let hop = 0; ; hop++) {
    if (!def.allowPrivateNetwork && !def.allowPrivateHosts.includes(url.hostname.toLowerCase())) {
      await checkTarget(url, def.name, resolve);
    }
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body === undefined || method === "GET" || method === "HEAD" ? {} : { body }),
        redirect: "manual",
        signal: both,
        dispatcher: agentFor(def),
      });
    } catch (err) {
      throw failure(def, url, err, timeout);
    }
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location !== null && res.status !== 304) {
      await res.body?.cancel();
      if (hop >= maxRedirects) {
        throw new LarderError("failedPrecondition", `command ${def.name}: more than ${maxRedirects} redirects from ${url.host}`);
      }
      const next = new URL(location, url);
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new LarderError("permissionDenied", `command ${def.name}: redirect to a non-http(s) URL refused`);
      }
      // Configured headers may hold secrets meant for the configured host
      // only, so they never follow a redirect to another origin.
      if (next.origin !== url.origin) headers = {};
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      }
      url = next;
      continue;
    }
    try {
      return await readResponse(def, res);
    } catch (err) {
      if (err instanceof LarderError) throw err;
      throw failure(def, url, err, timeout);
    }
  }
}

async function readResponse(def: CommandDefinition, res: Response): Promise<UpstreamResponse> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > def.maxResponseBytes) throw tooLarge(def);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body !== null) {
    for await (const chunk of res.body) {
      size += chunk.byteLength;
      if (size > def.maxResponseBytes) {
        await res.body.cancel().catch(() => undefined);
        throw tooLarge(def);
      }
      chunks.push(chunk);
    }
  }
  const bytes = Buffer.concat(chunks);
  const headers: [string, string][] = [];
  res.headers.forEach((value, name) => {
    if (!hopHeaders.has(name)) headers.push([name, value]);
  });
  const type = res.headers.get("content-type") ?? "";
  const textual = /^text\/|[/+](json|xml)\b|javascript|x-www-form-urlencoded/i.test(type);
  return {
    status: res.status,
    headers,
    body: textual ? { kind: "text", text: bytes.toString("utf8") } : { kind: "binary", base64: bytes.toString("base64") },
  };
}

function tooLarge(def: CommandDefinition): LarderError {
  return new LarderError(
    "resourceExhausted",
    `command ${def.name}: upstream response exceeds maxResponseBytes (${def.maxResponseBytes} bytes)`,
  );
}

function failure(def: CommandDefinition, url: URL, err: unknown, timeout: AbortSignal): Error {
  if (timeout.aborted) {
    return new UpstreamFailure("timeout", `command ${def.name}: upstream ${url.host} did not answer within ${def.timeoutMs} ms`);
  }
  if (err instanceof Error && err.name === "AbortError") {
    return new LarderError("deadlineExceeded", `command ${def.name}: the call was cancelled before the upstream answered`);
  }
  const cause = err instanceof Error && err.cause instanceof Error ? ((err.cause as { code?: string }).code ?? err.cause.message) : "";
  return new UpstreamFailure("connection", `command ${def.name}: cannot reach upstream ${url.host}${cause ? ` (${cause})` : ""}`);
}
