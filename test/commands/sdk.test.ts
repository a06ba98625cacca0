import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, createMemoryStore, type LarderServer, loadConfig } from "../../server/index.js";
import { createCache, Code, LarderError, type Cache } from "../../sdk/ts/src/index.js";
import { startLarder } from "../harness/larder.js";
import { startUpstream, type TestUpstream } from "./upstream.js";

describe("RunCommand through the TypeScript SDK and the server's commands option", () => {
  let upstream: TestUpstream;
  let server: LarderServer;
  let cache: Cache;

  beforeAll(async () => {
    upstream = await startUpstream();
    server = await startLarder(createMemoryStore(), {
      commands: {
        sdk: {
          user: { url: `http://127.0.0.1:${upstream.port}/users/{id}`, args: ["id"], cacheSeconds: 60, allowPrivateNetwork: true },
          text: { url: `http://127.0.0.1:${upstream.port}/text`, allowPrivateNetwork: true },
        },
      },
    });
    cache = createCache({ url: server.url, namespace: "sdk" });
  });
  afterAll(async () => {
    await cache.close();
    await server.close();
    await upstream.close();
  });

  it("returns parsed JSON, how it was served, and the URL", async () => {
    const live = await cache.runCommand<{ path: string }>("user", { args: { id: "42" } });
    expect(live).toMatchObject({ status: 200, servedFrom: "live", fallback: false, ageMs: 0 });
    expect(live.body.path).toBe("/users/42");
    expect(live.headers["content-type"]).toBe("application/json");
    expect(live.url).toBe(`http://127.0.0.1:${upstream.port}/users/42`);
    const cached = await cache.runCommand<{ path: string }>("user", { args: { id: "42" } });
    expect(cached.servedFrom).toBe("cached");
    expect(cached.body).toEqual(live.body);
  });

  it("returns text bodies as strings, and events newest first", async () => {
    upstream.mode.contentType = "text/plain";
    upstream.mode.body = "hello";
    expect((await cache.runCommand("text")).body).toBe("hello");
    upstream.reset();
    await cache.runCommand("user", { args: { id: "7" } });
    upstream.mode.status = 502;
    const fb = await cache.runCommand("user", { args: { id: "7" } });
    expect(fb.fallback).toBe(false); // fresh: served from cache without going live
    expect(await cache.commandEvents("user")).toEqual([]);
  });

  it("answers NOT_FOUND for an undefined command", async () => {
    const err = await cache.runCommand("missing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LarderError);
    expect((err as LarderError).code).toBe(Code.NotFound);
  });

  it("refuses a bad command definition at start-up, naming the setting", () => {
    const dir = mkdtempSync(join(tmpdir(), "larder-cmd-"));
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ commands: { ns: { c: { url: "http://a.example/", cacheSeconds: 5 } } } }));
    expect(() => loadConfig({ LARDER_CONFIG: file })).toThrow(ConfigError);
    expect(() => loadConfig({ LARDER_CONFIG: file })).toThrow(/commands\.ns\.c\.cacheSeconds/);
    writeFileSync(file, JSON.stringify({ commands: { ns: { c: { url: "http://a.example/", headers: { a: { env: "X_TOKEN" } } } } } }));
    expect(loadConfig({ LARDER_CONFIG: file, X_TOKEN: "t" }).commands["ns"]?.["c"]?.url).toBe("http://a.example/");
  });
});
