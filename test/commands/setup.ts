import { afterAll, beforeAll, beforeEach } from "vitest";
import type { Client } from "@connectrpc/connect";
import { parseCommands, type CommandsConfig } from "../../server/commands/definitions.js";
import { CommandRunner } from "../../server/commands/runner.js";
import type { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { createLogger, createMemoryStore, createRedisStore, type LarderServer, type Store } from "../../server/index.js";
import { cacheClient, startLarder, type StoreKind } from "../harness/larder.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";
import { startUpstream, type TestUpstream } from "./upstream.js";

/** The secret the commands send upstream; it must never come back. */
export const secret = "s3cr3t-token-value";

/** The commands every test namespace gets, pointing at the test upstream. */
export function testCommands(port: number, deadPort: number): CommandsConfig[string] {
  const local = `http://127.0.0.1:${port}`;
  return {
    item: {
      url: `${local}/item/{id}`,
      args: ["id"],
      headers: { authorization: { env: "TEST_SECRET" }, "x-static": "1" },
      passHeaders: ["x-tenant"],
      cacheSeconds: 30,
      timeoutMs: 400,
      allowPrivateNetwork: true,
    },
    post: { method: "POST", url: `${local}/post`, cacheSeconds: 30, allowPrivateNetwork: true },
    nocache: { url: `${local}/nocache`, allowPrivateNetwork: true, timeoutMs: 400 },
    private: { url: `${local}/private` },
    redirect: { url: `http://localhost:${port}/redirect`, allowPrivateHosts: ["localhost"] },
    dead: { url: `http://127.0.0.1:${deadPort}/x`, allowPrivateNetwork: true, cacheSeconds: 15 },
    small: { url: `${local}/small`, allowPrivateNetwork: true, maxResponseBytes: 10 },
  };
}

/** One server instance of a suite. */
export interface Instance {
  server: LarderServer;
  store: Store;
}

/** A suite's servers, upstream and clock; see {@link useCommandSuite}. */
export interface CommandSuite {
  readonly upstream: TestUpstream;
  readonly instances: Instance[];
  readonly logs: string[];
  /** Added to every clock the state machine reads. */
  offsetMs: number;
  /** A fresh namespace per test, with every command defined. */
  readonly ns: string;
  client(instance?: number): Client<typeof CacheService>;
}

/**
 * Starts the upstream, Redis (for the redis kind) and `instances` servers
 * sharing one store backend, with commands defined in 60 namespaces so that
 * each test gets state of its own.
 */
export function useCommandSuite(kind: StoreKind, instances = 1): CommandSuite {
  let redis: RedisServer | undefined;
  let nsIndex = 0;
  const suite: CommandSuite = {
    upstream: undefined as unknown as TestUpstream,
    instances: [],
    logs: [],
    offsetMs: 0,
    ns: "",
    client(i = 0) {
      const inst = suite.instances[i];
      if (inst === undefined) throw new Error("no such instance");
      return cacheClient(inst.server.url, { namespace: suite.ns, protocol: "connect-h1" });
    },
  };
  beforeAll(async () => {
    const upstream = await startUpstream();
    const dead = await startUpstream();
    const deadPort = dead.port;
    await dead.close();
    (suite as { upstream: TestUpstream }).upstream = upstream;
    const cmds = testCommands(upstream.port, deadPort);
    const config: CommandsConfig = {};
    for (let i = 0; i < 60; i++) config[`ns${i}`] = cmds;
    const definitions = parseCommands(config, { TEST_SECRET: secret }, 5 * 1024 * 1024);
    if (kind === "redis") redis = await startRedis();
    const prefix = `larder-cmd-${Math.random().toString(36).slice(2, 8)}`;
    for (let i = 0; i < instances; i++) {
      const store: Store =
        kind === "memory"
          ? createMemoryStore({ now: () => Date.now() + suite.offsetMs })
          : createRedisStore({ url: redis?.url ?? "", keyPrefix: prefix, commandClockOffsetMs: () => suite.offsetMs });
      const logger = createLogger({ level: "info", write: (l) => suite.logs.push(l) });
      const runner = new CommandRunner({ definitions, state: store.commandState, logger });
      suite.instances.push({ server: await startLarder(store, { commandRunner: runner }), store });
    }
  }, 30_000);
  beforeEach(() => {
    suite.upstream.reset();
    suite.offsetMs = 0;
    suite.logs.length = 0;
    (suite as { ns: string }).ns = `ns${nsIndex++}`;
  });
  afterAll(async () => {
    for (const i of suite.instances) await i.server.close();
    await suite.upstream?.close();
    await redis?.stop();
  });
  return suite;
}
