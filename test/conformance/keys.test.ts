import { describe, expect, it } from "vitest";
import { Code, type Client } from "@connectrpc/connect";
import type { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { conformanceKinds } from "../harness/larder.js";
import { expectCode, json, useLarder } from "../harness/fixture.js";

async function listAll(c: Client<typeof CacheService>, pattern: string, limit = 0): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "";
  let pages = 0;
  do {
    const page = await c.keys({ pattern, cursor, limit });
    if (limit > 0) expect(page.keys.length).toBeLessThanOrEqual(limit);
    keys.push(...page.keys);
    cursor = page.nextCursor;
    pages++;
    expect(pages, "pagination must end").toBeLessThan(10_000);
  } while (cursor !== "");
  return keys.sort();
}

async function put(c: Client<typeof CacheService>, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    await c.setMany({ entries: keys.slice(i, i + 1000).map((key) => ({ key, value: json(1) })) });
  }
}

describe.each(conformanceKinds)("conformance: Keys [%s store]", (kind) => {
  const larder = useLarder(kind);

  it("pages through every key exactly once with a cursor", async () => {
    const c = larder.client();
    const keys = Array.from({ length: 2500 }, (_, i) => `item:${i}`);
    await put(c, keys);
    const listed = await listAll(c, "*", 100);
    expect(listed).toEqual([...keys].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it("uses a page of 100 by default and refuses pages over 1000", async () => {
    const c = larder.client();
    await put(c, Array.from({ length: 150 }, (_, i) => `k${i}`));
    const first = await c.keys({});
    expect(first.keys.length).toBeLessThanOrEqual(100);
    expect(await listAll(c, "")).toHaveLength(150);
    await expectCode(c.keys({ limit: 1001 }), Code.InvalidArgument, /limit: 1001 exceeds the page limit of 1000/);
    await expectCode(c.keys({ limit: -1 }), Code.InvalidArgument, /limit: must not be negative/);
    await expectCode(c.keys({ cursor: "not a cursor!" }), Code.InvalidArgument, /cursor/);
  });

  it("matches *, ?, classes and escapes like a glob", async () => {
    const c = larder.client();
    await put(c, ["user:1", "user:2", "user:10", "user:a", "session:1", "a*b", "axb", "a?c", "abc", "é1", "éé"]);
    expect(await listAll(c, "user:*")).toEqual(["user:1", "user:10", "user:2", "user:a"]);
    expect(await listAll(c, "user:?")).toEqual(["user:1", "user:2", "user:a"]);
    expect(await listAll(c, "user:[0-9]")).toEqual(["user:1", "user:2"]);
    expect(await listAll(c, "user:[^0-9]")).toEqual(["user:a"]);
    expect(await listAll(c, "a\\*b")).toEqual(["a*b"]);
    expect(await listAll(c, "a*b")).toEqual(["a*b", "axb"]);
    expect(await listAll(c, "a\\?c")).toEqual(["a?c"]);
    expect(await listAll(c, "é?")).toEqual(["é1", "éé"]);
    expect(await listAll(c, "nothing*")).toEqual([]);
  });

  it("takes regular-expression characters in a pattern literally", async () => {
    const c = larder.client();
    await put(c, ["user-1", "a.b", "a+b", "(x)", "a/b", "$1"]);
    expect(await listAll(c, "user-*")).toEqual(["user-1"]);
    expect(await listAll(c, "a.b")).toEqual(["a.b"]);
    expect(await listAll(c, "a+?")).toEqual(["a+b"]);
    expect(await listAll(c, "(*)")).toEqual(["(x)"]);
    expect(await listAll(c, "a/*")).toEqual(["a/b"]);
    expect(await listAll(c, "$?")).toEqual(["$1"]);
  });

  it("treats every key literally outside Keys", async () => {
    const c = larder.client();
    await put(c, ["x1", "x2"]);
    expect((await c.get({ key: "x*" })).found).toBe(false);
    expect((await c.delete({ keys: ["x*", "x?"] })).deleted).toBe(0n);
    expect(await listAll(c, "x*")).toEqual(["x1", "x2"]);
  });
});

describe.each(conformanceKinds)("conformance: namespaces [%s store]", (kind) => {
  const larder = useLarder(kind);
  const awkward = ["*", "a*", "[x]", "a}:e:b", "{a}", "a", "a:e", "ns with space", "?", "\\"];

  it("keeps every namespace's data apart, whatever its name", async () => {
    const clients = awkward.map((namespace) => ({ namespace, c: larder.client({ namespace }) }));
    for (const { namespace, c } of clients) {
      await c.set({ key: "shared", value: json(namespace) });
      await c.set({ key: `own:${namespace}`, value: json(namespace) });
      await c.set({ key: "b}:e:shared", value: json(namespace) });
    }
    for (const { namespace, c } of clients) {
      expect((await c.get({ key: "shared" })).value?.kind.value).toBe(JSON.stringify(namespace));
      expect(await listAll(c, "*")).toEqual(["b}:e:shared", `own:${namespace}`, "shared"].sort());
      expect(await listAll(c, "own:*")).toEqual([`own:${namespace}`]);
    }
  });

  it("never lets one namespace delete, overwrite or count another's keys", async () => {
    const a = larder.client({ namespace: "tenant-a" });
    const b = larder.client({ namespace: "tenant-b" });
    await a.set({ key: "k", value: json("a") });
    expect((await b.delete({ keys: ["k"] })).deleted).toBe(0n);
    expect((await b.has({ key: "k" })).found).toBe(false);
    expect((await b.set({ key: "k", value: json("b"), mode: 2 })).created).toBe(true);
    expect((await b.increment({ key: "n" })).value).toBe(1n);
    expect((await a.get({ key: "k" })).value?.kind.value).toBe('"a"');
    expect((await a.get({ key: "n" })).found).toBe(false);
  });

  it("uses `default` when no namespace is named", async () => {
    const anonymous = larder.client({ namespace: "" });
    const named = larder.client({ namespace: "default" });
    const key = `anon-${Math.random()}`;
    await anonymous.set({ key, value: json(1) });
    expect((await named.get({ key })).found).toBe(true);
  });

  it("refuses a namespace name over the limit", async () => {
    const c = larder.client({ namespace: "n".repeat(129) });
    await expectCode(c.get({ key: "k" }), Code.InvalidArgument, /larder-namespace: 129 bytes exceeds the namespace limit of 128 bytes/);
  });
});
