import { describe, expect, it } from "vitest";
import { Code, type Client } from "@connectrpc/connect";
import type { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { CommandEventKind, ServedFrom } from "../../server/gen/larder/v1/command_pb.js";
import { expectCode } from "../harness/fixture.js";
import { cacheClient, storeKinds } from "../harness/larder.js";
import { secret, useCommandSuite } from "./setup.js";

type C = Client<typeof CacheService>;
const day = 24 * 60 * 60 * 1000;

function run(c: C, name: string, args: Record<string, string> = {}, extra: { headers?: Record<string, string>; body?: string } = {}) {
  return c.runCommand({
    name,
    args,
    headers: extra.headers ?? {},
    ...(extra.body === undefined ? {} : { body: { kind: { case: "text", value: extra.body } } }),
  });
}

function text(r: { body?: { kind: { case: string | undefined; value?: unknown } } | undefined }): string {
  return r.body?.kind.case === "text" ? String(r.body.kind.value) : "";
}

describe.each(storeKinds)("RunCommand [%s store]", (kind) => {
  const s = useCommandSuite(kind);

  it("serves a fresh cached response without calling the upstream, and refetches a stale one", async () => {
    const c = s.client();
    const first = await run(c, "item", { id: "1" });
    expect(first).toMatchObject({ status: 200, servedFrom: ServedFrom.LIVE, cacheFallback: false, ageMs: 0n });
    expect(first.url).toBe(`http://127.0.0.1:${s.upstream.port}/item/1`);
    expect(JSON.parse(text(first))).toMatchObject({ path: "/item/1" });
    expect(first.headers.map((h) => [h.name, h.value])).toContainEqual(["x-upstream", "yes"]);
    s.offsetMs = 10_000;
    const second = await run(c, "item", { id: "1" });
    expect(second).toMatchObject({ status: 200, servedFrom: ServedFrom.CACHED, cacheFallback: false });
    expect(Number(second.ageMs)).toBeGreaterThanOrEqual(10_000);
    expect(text(second)).toBe(text(first));
    expect(s.upstream.requests).toHaveLength(1);
    s.offsetMs = 31_000;
    const third = await run(c, "item", { id: "1" });
    expect(third.servedFrom).toBe(ServedFrom.LIVE);
    expect(s.upstream.requests).toHaveLength(2);
  });

  it("falls back to the cached response on a 500, goes live every 5th run, and a success deactivates", async () => {
    const c = s.client();
    const ok = await run(c, "item", { id: "fb" });
    s.upstream.mode.status = 500;
    s.upstream.mode.body = "boom";
    s.offsetMs = 60_000; // stale: the next run must go live
    const failed = await run(c, "item", { id: "fb" });
    expect(failed).toMatchObject({ status: 200, servedFrom: ServedFrom.FALLBACK, cacheFallback: true });
    expect(text(failed)).toBe(text(ok));
    expect(Number(failed.ageMs)).toBeGreaterThanOrEqual(60_000);
    expect(s.upstream.requests).toHaveLength(2);
    const liveRuns: number[] = [];
    for (let n = 1; n <= 10; n++) {
      const before = s.upstream.requests.length;
      const r = await run(c, "item", { id: "fb" });
      expect(r).toMatchObject({ status: 200, servedFrom: ServedFrom.FALLBACK, cacheFallback: true });
      if (s.upstream.requests.length > before) liveRuns.push(n);
    }
    expect(liveRuns).toEqual([5, 10]);
    s.upstream.mode.status = 200;
    s.upstream.mode.body = "";
    for (let n = 11; n <= 14; n++) expect((await run(c, "item", { id: "fb" })).servedFrom).toBe(ServedFrom.FALLBACK);
    const back = await run(c, "item", { id: "fb" }); // the 15th run goes live and succeeds
    expect(back).toMatchObject({ status: 200, servedFrom: ServedFrom.LIVE, cacheFallback: false });
    expect((await run(c, "item", { id: "fb" })).servedFrom).toBe(ServedFrom.CACHED);

    const events = (await c.listCommandEvents({})).events;
    expect(events.map((e) => [e.kind, e.command, e.upstreamStatus, e.level])).toEqual([
      [CommandEventKind.FALLBACK_DEACTIVATED, "item", 200, "info"],
      [CommandEventKind.FALLBACK_ACTIVATED, "item", 500, "info"],
    ]);
    expect((await c.listCommandEvents({ command: "post" })).events).toEqual([]);
    const lines = s.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l["msg"]).startsWith("command fallback"));
    expect(lines).toEqual([
      expect.objectContaining({ level: "info", msg: "command fallback activated", command: "item", upstreamStatus: 500 }),
      expect.objectContaining({ level: "info", msg: "command fallback deactivated", command: "item", upstreamStatus: 200 }),
    ]);
    expect(s.logs.join("\n")).not.toContain(secret);
  });

  it("keeps identities apart by arg, body and allowed header, but not by other headers", async () => {
    const c = s.client();
    await run(c, "item", { id: "a" });
    await run(c, "item", { id: "b" });
    await run(c, "item", { id: "a" }, { headers: { "x-tenant": "t1" } });
    await run(c, "item", { id: "a" }, { headers: { "x-other": "zzz" } }); // same identity as the first
    expect(s.upstream.requests).toHaveLength(3);
    expect(s.upstream.requests[2]?.headers["x-tenant"]).toBe("t1");
    expect(s.upstream.requests.some((r) => r.headers["x-other"] !== undefined)).toBe(false);
    await run(c, "post", {}, { body: "one" });
    await run(c, "post", {}, { body: "two" });
    expect((await run(c, "post", {}, { body: "one" })).servedFrom).toBe(ServedFrom.CACHED);
    expect(s.upstream.requests.slice(3).map((r) => [r.method, r.body])).toEqual([["POST", "one"], ["POST", "two"]]);
  });

  it("never serves data older than 24 h", async () => {
    const c = s.client();
    await run(c, "item", { id: "old" });
    s.upstream.mode.status = 503;
    s.offsetMs = day + 1000;
    const r = await run(c, "item", { id: "old" });
    expect(r).toMatchObject({ status: 503, servedFrom: ServedFrom.LIVE, cacheFallback: false });
  });

  it("returns a 4xx as is without a cache, and answers timeouts and refused connections with clear errors", async () => {
    const c = s.client();
    s.upstream.mode.status = 404;
    s.upstream.mode.body = '{"error":"nope"}';
    expect(await run(c, "item", { id: "missing" })).toMatchObject({ status: 404, servedFrom: ServedFrom.LIVE, cacheFallback: false });
    expect(await run(c, "nocache")).toMatchObject({ status: 404 });
    s.upstream.reset();
    s.upstream.mode.delayMs = 1000;
    await expectCode(run(c, "nocache"), Code.DeadlineExceeded, /nocache.*did not answer within 400 ms/);
    await expectCode(run(c, "dead"), Code.Unavailable, /dead: cannot reach upstream/);
  });

  it("falls back on a timeout when something is cached", async () => {
    const c = s.client();
    await run(c, "item", { id: "slow" });
    s.offsetMs = 31_000;
    s.upstream.mode.delayMs = 1000;
    const r = await run(c, "item", { id: "slow" });
    expect(r).toMatchObject({ status: 200, servedFrom: ServedFrom.FALLBACK, cacheFallback: true });
    const events = (await c.listCommandEvents({ command: "item" })).events;
    expect(events[0]).toMatchObject({ kind: CommandEventKind.FALLBACK_ACTIVATED, upstreamStatus: 0 });
  });

  it("makes one upstream call for concurrent identical runs", async () => {
    const c = s.client();
    s.upstream.mode.delayMs = 200;
    const all = await Promise.all(Array.from({ length: 50 }, () => run(c, "item", { id: "sf" })));
    expect(s.upstream.requests).toHaveLength(1);
    expect(new Set(all.map((r) => text(r))).size).toBe(1);
  });

  it("refuses undefined commands, private targets, host injection, dot segments, redirects inward and oversize bodies", async () => {
    const c = s.client();
    await expectCode(run(c, "nope"), Code.NotFound, /command "nope" is not defined/);
    await expectCode(run(c, "private"), Code.PermissionDenied, /127\.0\.0\.1.*allowPrivateNetwork/);
    const injected = await run(c, "item", { id: "x@evil.host" });
    expect(injected.url).toBe(`http://127.0.0.1:${s.upstream.port}/item/x%40evil.host`);
    expect(s.upstream.requests.at(-1)?.url).toBe("/item/x%40evil.host");
    await run(c, "item", { id: "a/b?c#d" });
    expect(s.upstream.requests.at(-1)?.url).toBe("/item/a%2Fb%3Fc%23d");
    await expectCode(run(c, "item", { id: "../admin" }), Code.InvalidArgument, /args\.id: must not contain '\.\.'/);
    await expectCode(run(c, "item", { other: "1" }), Code.InvalidArgument, /args\.other/);
    s.upstream.mode.redirectTo = `http://127.0.0.1:${s.upstream.port}/item/1`;
    const before = s.upstream.requests.length;
    await expectCode(run(c, "redirect"), Code.PermissionDenied, /redirect|127\.0\.0\.1/);
    expect(s.upstream.requests.length).toBe(before + 1); // the first hop only
    s.upstream.reset();
    await expectCode(run(c, "small"), Code.ResourceExhausted, /maxResponseBytes \(10 bytes\)/);
  });

  it("answers the same over gRPC (the fast path)", async () => {
    const c = cacheClient(s.instances[0]?.server.url ?? "", { namespace: s.ns, protocol: "grpc" });
    expect(await run(c, "item", { id: "g" })).toMatchObject({ status: 200, servedFrom: ServedFrom.LIVE });
    expect(await run(c, "item", { id: "g" })).toMatchObject({ status: 200, servedFrom: ServedFrom.CACHED });
    await expectCode(run(c, "nope"), Code.NotFound, /nope/);
  });

  it("never returns the secret header value, even when the upstream echoes it", async () => {
    const c = s.client();
    const r = await run(c, "item", { id: "echo" });
    expect(s.upstream.requests[0]?.headers["authorization"]).toBe(secret);
    expect(text(r)).toContain("[redacted]");
    expect(JSON.stringify(r, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(secret);
  });
});

describe("RunCommand across two server instances sharing Redis", () => {
  const s = useCommandSuite("redis", 2);

  it("makes one upstream call for 50 concurrent identical runs spread over both", async () => {
    const a = s.client(0);
    const b = s.client(1);
    s.upstream.mode.delayMs = 300;
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => run(i % 2 === 0 ? a : b, "item", { id: "shared" })));
    expect(s.upstream.requests).toHaveLength(1);
    expect(all.every((r) => r.status === 200 && r.servedFrom === ServedFrom.LIVE)).toBe(true);
  });

  it("shares fallback mode and its run counter", async () => {
    const a = s.client(0);
    const b = s.client(1);
    await run(a, "item", { id: "fbx" });
    s.upstream.mode.status = 500;
    s.offsetMs = 31_000;
    expect((await run(a, "item", { id: "fbx" })).servedFrom).toBe(ServedFrom.FALLBACK);
    const before = s.upstream.requests.length;
    for (let n = 1; n <= 4; n++) expect((await run(b, "item", { id: "fbx" })).cacheFallback).toBe(true);
    expect(s.upstream.requests.length).toBe(before);
    await run(a, "item", { id: "fbx" }); // the 5th run in fallback, on the other instance
    expect(s.upstream.requests.length).toBe(before + 1);
    expect((await b.listCommandEvents({})).events).toHaveLength(1);
  });
});
