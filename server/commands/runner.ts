import { LarderError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { noopServiceMetrics, type ServiceMetrics } from "../core/metrics.js";
import type { CommandEventRecord, CommandState } from "../store/command-state.js";
import type { CommandDefinition } from "./definitions.js";
import { fetchUpstream, UpstreamFailure, type UpstreamResponse } from "./fetch-upstream.js";
import { commandIdentity } from "./identity.js";
import { systemResolver, type Resolver } from "./ssrf.js";
import { buildRequest, type RunInput } from "./request.js";
import { SingleFlight } from "./single-flight.js";

/** Responses are kept this long for fallback, whatever cacheSeconds says. */
export const keepMs = 24 * 60 * 60 * 1000;

/** How a run was served. */
export type ServedFrom = "live" | "cached" | "fallback";

/** The answer of one run. */
export interface RunResult {
  response: UpstreamResponse;
  servedFrom: ServedFrom;
  cacheFallback: boolean;
  ageMs: number;
  /** The upstream URL, built from the template; secrets only ever travel in headers. */
  url: string;
}

/** Options of {@link CommandRunner}. */
export interface CommandRunnerOptions {
  /** Namespace, then command name. */
  definitions: ReadonlyMap<string, ReadonlyMap<string, CommandDefinition>>;
  /** The shared state machine's storage. */
  state: CommandState;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Resolves upstream host names for the address check. Default: the system resolver. */
  resolve?: Resolver;
}

/**
 * Runs configured commands with the cache-fallback state machine: a fresh
 * cached response is served, a live 2xx–3xx is stored, a live failure turns
 * fallback on and serves the latest stored response (every 5th run tries
 * live), and a live success turns it off. All state (cached responses, fallback mode, the run counter,
 * events, single-flight leases) lives in the {@link CommandState}, so
 * that several server instances behave as one.
 */
export class CommandRunner {
  private readonly flights: SingleFlight<RunResult>;
  private readonly metrics: ServiceMetrics;

  /** @param options definitions, state store, logger. */
  constructor(private readonly options: CommandRunnerOptions) {
    this.metrics = options.metrics ?? noopServiceMetrics;
    this.flights = new SingleFlight(options.state);
  }

  /** The definition of a command, or NOT_FOUND naming it. */
  definition(ns: string, name: string): CommandDefinition {
    const def = this.options.definitions.get(ns)?.get(name);
    if (def === undefined) throw new LarderError("notFound", `command "${name}" is not defined in namespace "${ns}"`);
    return def;
  }

  /** Runs a command; answers a cached, fallback or live response, or throws a LarderError. */
  async run(ns: string, input: RunInput, signal: AbortSignal): Promise<RunResult> {
    const def = this.definition(ns, input.name);
    const req = buildRequest(def, input);
    const id = commandIdentity({ command: def.name, args: input.args, headers: req.passed, body: req.body });
    const cacheMs = def.cacheSeconds === undefined ? undefined : def.cacheSeconds * 1000;
    if (cacheMs !== undefined) {
      const d = await this.options.state.decide(ns, id, cacheMs, keepMs);
      if (d.action !== "live") {
        const fallback = d.action === "fallback";
        this.metrics.commandServed(def.name, d.action);
        return {
          response: JSON.parse(d.entry.response) as UpstreamResponse,
          servedFrom: d.action,
          cacheFallback: fallback,
          ageMs: Math.max(0, d.now - d.entry.storedAt),
          url: req.url.href,
        };
      }
    }
    const result = await this.flights.run(ns, id, def.timeoutMs + 5_000, signal, () => this.live(ns, id, def, req, cacheMs));
    this.metrics.commandServed(def.name, result.servedFrom);
    return result;
  }

  /** The namespace's command definitions, by name. */
  definitions(ns: string): CommandDefinition[] {
    return [...(this.options.definitions.get(ns)?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The identities of a command with a live call within 24 h, most recent first. */
  states(ns: string, command: string, limit: number): ReturnType<CommandState["listStates"]> {
    return this.options.state.listStates(ns, command, limit, keepMs);
  }

  /** The namespace's events within 24 h, newest first. */
  events(ns: string, command: string | undefined, limit: number): Promise<CommandEventRecord[]> {
    return this.options.state.listEvents(ns, command, limit, keepMs);
  }

  private async live(
    ns: string,
    id: string,
    def: CommandDefinition,
    req: ReturnType<typeof buildRequest>,
    cacheMs: number | undefined,
  ): Promise<RunResult> {
    const url = req.url.href;
    let response: UpstreamResponse | undefined;
    let failure: UpstreamFailure | undefined;
    try {
      response = scrub(
        await fetchUpstream(def, { url: req.url, headers: req.headers, body: req.body }, AbortSignal.timeout(def.timeoutMs + 1000), this.options.resolve ?? systemResolver),
        def.secrets,
      );
    } catch (err) {
      if (!(err instanceof UpstreamFailure)) throw err;
      failure = err;
    }
    const live = (r: UpstreamResponse): RunResult => ({ response: r, servedFrom: "live", cacheFallback: false, ageMs: 0, url });
    if (response !== undefined && response.status < 400) {
      if (cacheMs !== undefined) {
        const out = await this.options.state.recordSuccess(ns, id, JSON.stringify(response), keepMs, response.status);
        if (out.deactivated) await this.event(ns, def.name, response.status, "deactivated");
      }
      return live(response);
    }
    if (cacheMs !== undefined) {
      const status = response?.status ?? 0;
      const out = await this.options.state.recordFailure(ns, id, keepMs, status);
      if (out.activated) {
        this.metrics.commandFallbackActivated(def.name);
        await this.event(ns, def.name, status, "activated");
      }
      if (out.entry !== undefined) {
        return {
          response: JSON.parse(out.entry.response) as UpstreamResponse,
          servedFrom: "fallback",
          cacheFallback: true,
          ageMs: Math.max(0, out.now - out.entry.storedAt),
          url,
        };
      }
    }
    if (response !== undefined) return live(response);
    throw new LarderError(failure?.kind === "timeout" ? "deadlineExceeded" : "unavailable", failure?.message ?? "upstream failed");
  }

  private async event(ns: string, command: string, upstreamStatus: number, kind: "activated" | "deactivated"): Promise<void> {
    await this.options.state.addEvent(ns, { command, upstreamStatus, kind }, keepMs);
    // Never the URL or headers: they may carry caller data or secrets.
    this.options.logger.info(kind === "activated" ? "command fallback activated" : "command fallback deactivated", {
      namespace: ns,
      command,
      upstreamStatus,
    });
  }
}

/** Replaces configured secret values wherever an upstream echoes them back. */
function scrub(r: UpstreamResponse, secrets: readonly string[]): UpstreamResponse {
  if (secrets.length === 0) return r;
  const clean = (s: string): string => secrets.reduce((acc, secret) => acc.split(secret).join("[redacted]"), s);
  return {
    status: r.status,
    headers: r.headers.map(([n, v]) => [n, clean(v)]),
    body: r.body.kind === "text" ? { kind: "text", text: clean(r.body.text) } : r.body,
  };
}
