// The TypeScript runner of the language-neutral SDK scenarios in
// test/scenarios/*.json (see the README there); the C#, Python and Go SDKs
// run the same files, so the SDKs cannot drift apart unnoticed.
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LarderServer } from "../../../server/index.js";
import { createCache, LarderError, type Cache, type LockHandle } from "../src/index.js";
import { freshNamespace, makeStore, startLarder, storeKinds } from "../../../test/harness/larder.js";
import { startRedis, type RedisServer } from "../../../test/harness/redis-server.js";

/** One step of a scenario; which fields apply depends on `op`. */
interface Step {
  op: string;
  key?: string;
  keys?: string[];
  value?: unknown;
  ttl?: number;
  seconds?: number;
  pattern?: string;
  delta?: number;
  name?: string;
  wait?: number;
  as?: string;
  handle?: string;
  lock?: string;
  ms?: number;
  computed?: boolean;
  entries?: { key: string; value: unknown; ttl?: number }[];
  created?: boolean[];
  args?: Record<string, string>;
  body?: unknown;
  command?: string;
  expect?: unknown;
  error?: string;
  message?: string;
}

interface Scenario {
  name: string;
  steps: Step[];
}

const dir = join(import.meta.dirname, "..", "..", "..", "test", "scenarios");
const scenarios: [string, Scenario][] = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), "utf8")) as Scenario]);

/** The scenario notation of a value: bytes as {"$bytes": base64}. */
function fromWire(value: unknown): unknown {
  return value instanceof Uint8Array ? { $bytes: Buffer.from(value).toString("base64") } : value;
}

/** The SDK's notation of a scenario value. */
function toWire(value: unknown): unknown {
  if (value !== null && typeof value === "object" && "$bytes" in value) {
    return new Uint8Array(Buffer.from(String((value as { $bytes: string }).$bytes), "base64"));
  }
  if (value !== null && typeof value === "object" && "$repeat" in value) {
    const [text, times] = (value as { $repeat: [string, number] }).$repeat;
    return text.repeat(times);
  }
  return value;
}

/**
 * The scenario server's settings (test/scenarios/README.md): a small value
 * limit, and the commands `echo` and `down` in each of `namespaces`.
 */
function scenarioConfig(upstream: string, namespaces: readonly string[]) {
  const common = { allowPrivateNetwork: true, cacheSeconds: 15, timeoutMs: 3000 };
  const commands = {
    echo: { ...common, method: "POST", url: `${upstream}/echo` },
    // Nothing listens on port 1, so every run is a connection failure.
    down: { ...common, url: "http://127.0.0.1:1/" },
  };
  return {
    limits: { maxValueBytes: 1024 },
    commands: Object.fromEntries(namespaces.map((ns) => [ns, commands])),
  };
}

/** The scenario commands' upstream: answers every request with its own body. */
async function startEchoUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/octet-stream" });
      res.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Runs one step and returns what is compared with `expect`. */
async function run(cache: Cache, step: Step, handles: Map<string, LockHandle>): Promise<unknown> {
  const handle = (name: string | undefined): LockHandle => {
    const h = handles.get(name ?? "");
    if (h === undefined) throw new Error(`no lock handle named ${String(name)}`);
    return h;
  };
  const key = step.key ?? "";
  switch (step.op) {
    case "set": {
      const lock = step.lock === undefined ? undefined : handle(step.lock);
      return cache.set(key, toWire(step.value), {
        ...(step.ttl === undefined ? {} : { ttl: step.ttl }),
        ...(lock === undefined ? {} : { lock }),
      });
    }
    case "get":
      return fromWire(await cache.get(key));
    case "has":
      return cache.has(key);
    case "delete":
      return cache.delete(key);
    case "extend":
      return cache.extend(key, step.seconds ?? 0);
    case "keys":
      return (await cache.keys(step.pattern)).sort();
    case "get_many":
      return [...(await cache.getMany(step.keys ?? [])).values()].map(fromWire);
    case "get_or_set": {
      let computed = false;
      const value = await cache.get(key, {
        ...(step.ttl === undefined ? {} : { ttl: step.ttl }),
        getValue: () => {
          computed = true;
          return toWire(step.value);
        },
      });
      expect(computed, "whether the factory ran").toBe(step.computed ?? computed);
      return fromWire(value);
    }
    case "increment":
      return cache.increment(key, step.delta, step.ttl);
    case "lock": {
      const h = await cache.lock(step.name ?? "", {
        ...(step.ttl === undefined ? {} : { ttl: step.ttl }),
        ...(step.wait === undefined ? {} : { wait: step.wait }),
      });
      if (step.as !== undefined) handles.set(step.as, h);
      else await h.release();
      return { acquired: h.acquired };
    }
    case "unlock":
      return handle(step.handle).release();
    case "set_many":
      // The TypeScript wrapper returns nothing per entry, so `created` is not checked here.
      await cache.setMany(
        (step.entries ?? []).map((e) => ({ key: e.key, value: toWire(e.value), ...(e.ttl === undefined ? {} : { ttl: e.ttl }) })),
      );
      return null;
    case "run_command": {
      const res = await cache.runCommand(step.name ?? "", {
        ...(step.args === undefined ? {} : { args: step.args }),
        ...(step.body === undefined ? {} : { body: step.body }),
      });
      // The body is parsed only for a JSON content type; the echo keeps the
      // request's, so a JSON text may arrive as a string.
      const body = typeof res.body === "string" ? (JSON.parse(res.body) as unknown) : res.body;
      return { status: res.status, served_from: res.servedFrom, fallback: res.fallback, body };
    }
    case "command_events":
      return (await cache.commandEvents(step.command)).map((e) => ({
        command: e.command,
        kind: e.kind,
        upstream_status: e.upstreamStatus,
      }));
    case "sleep":
      await sleep(step.ms ?? 0);
      return undefined;
    default:
      throw new Error(`unknown op ${step.op}`);
  }
}

describe.each(storeKinds)("SDK scenarios, TypeScript [%s store]", (kind) => {
  let server: LarderServer | undefined;
  let redis: RedisServer | undefined;
  let upstream: Server | undefined;
  // Commands are configured per namespace, so each scenario's is chosen
  // before the server starts.
  const namespaces = new Map(scenarios.map(([file]) => [file, freshNamespace("scenario")]));

  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
    const echo = await startEchoUpstream();
    upstream = echo.server;
    server = await startLarder(makeStore(kind, redis?.url), scenarioConfig(echo.url, [...namespaces.values()]));
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await redis?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r) ?? r(undefined));
  });

  it.each(scenarios)("%s", async (file, scenario) => {
    if (server === undefined) throw new Error("server not started");
    const cache = createCache({ url: server.url, namespace: namespaces.get(file) ?? "" });
    const handles = new Map<string, LockHandle>();
    try {
      for (const [i, step] of scenario.steps.entries()) {
        const where = `step ${i + 1} (${step.op} ${JSON.stringify(step.key ?? step.name ?? step.handle ?? "")})`;
        if (step.error !== undefined) {
          const err = await run(cache, step, handles).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, `${where} should fail with ${step.error}`).toBeInstanceOf(LarderError);
          expect((err as LarderError).codeName, where).toBe(step.error);
          if (step.message !== undefined) expect((err as LarderError).message, where).toContain(step.message);
        } else {
          const got = await run(cache, step, handles);
          if (step.op !== "sleep") expect(got, where).toEqual(step.expect);
        }
      }
    } finally {
      await Promise.all([...handles.values()].map((h) => h.release().catch(() => false)));
      await cache.close();
    }
  });
});
