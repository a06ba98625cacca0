import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { hashApiKey } from "../../server/index.js";
import type { SetMode } from "../../server/gen/larder/v1/cache_pb.js";
import { conformanceKinds } from "../harness/larder.js";
import { expectCode, json, useLarder } from "../harness/fixture.js";

describe.each(conformanceKinds)("conformance: limits and bad input [%s store]", (kind) => {
  const larder = useLarder(kind);

  it("checks keys: not empty, at most 1024 bytes of UTF-8", async () => {
    const c = larder.client();
    await expectCode(c.get({ key: "" }), Code.InvalidArgument, /^key: must not be empty$/);
    await expectCode(
      c.set({ key: "k".repeat(1025), value: json(1) }),
      Code.InvalidArgument,
      /key: 1025 bytes exceeds the limit of 1024 bytes \(1 KiB\)/,
    );
    // 512 two-byte characters are exactly 1024 bytes; one more is over.
    await c.set({ key: "é".repeat(512), value: json(1) });
    expect((await c.get({ key: "é".repeat(512) })).found).toBe(true);
    await expectCode(c.has({ key: "é".repeat(513) }), Code.InvalidArgument, /key: 1026 bytes/);
    await expectCode(c.getMany({ keys: ["ok", ""] }), Code.InvalidArgument, /keys\[1\]: must not be empty/);
  });

  it("checks values: required, valid JSON, at most 1 MiB", async () => {
    const c = larder.client();
    await expectCode(c.set({ key: "k" }), Code.InvalidArgument, /value: is required/);
    await expectCode(
      c.set({ key: "k", value: { kind: { case: "json", value: "hello" } } }),
      Code.InvalidArgument,
      /value.json: is not a valid JSON document/,
    );
    const big = JSON.stringify("x".repeat(1024 * 1024));
    await expectCode(
      c.set({ key: "k", value: { kind: { case: "json", value: big } } }),
      Code.InvalidArgument,
      /value.json: 1048578 bytes exceeds the limit of 1048576 bytes \(1 MiB\)/,
    );
    await expectCode(
      c.set({ key: "k", value: { kind: { case: "binary", value: new Uint8Array(1024 * 1024 + 1) } } }),
      Code.InvalidArgument,
      /value.binary: 1048577 bytes exceeds the limit/,
    );
    const justFits = new Uint8Array(1024 * 1024);
    await c.set({ key: "max", value: { kind: { case: "binary", value: justFits } } });
    expect((await c.get({ key: "max" })).value?.kind.value).toHaveLength(1024 * 1024);
    await expectCode(
      c.setMany({ entries: [{ key: "a", value: json(1) }, { key: "b", value: { kind: { case: "json", value: "{" } } }] }),
      Code.InvalidArgument,
      /entries\[1\].value.json/,
    );
    expect((await c.has({ key: "a" })).found, "a rejected batch writes nothing").toBe(false);
  });

  it("checks batch sizes: at least one, at most 1000", async () => {
    const c = larder.client();
    const keys = Array.from({ length: 1001 }, (_, i) => `k${i}`);
    await expectCode(c.getMany({ keys }), Code.InvalidArgument, /keys: 1001 items exceeds the batch limit of 1000/);
    await expectCode(c.delete({ keys }), Code.InvalidArgument, /keys: 1001 items exceeds the batch limit of 1000/);
    await expectCode(
      c.setMany({ entries: keys.map((key) => ({ key, value: json(1) })) }),
      Code.InvalidArgument,
      /entries: 1001 items exceeds the batch limit of 1000/,
    );
    await expectCode(c.getMany({ keys: [] }), Code.InvalidArgument, /keys: must not be empty/);
    await expectCode(c.delete({ keys: [] }), Code.InvalidArgument, /keys: must not be empty/);
  });

  it("checks Set's mode and version", async () => {
    const c = larder.client();
    await expectCode(c.set({ key: "k", value: json(1), mode: 4 }), Code.InvalidArgument, /if_version: must be positive/);
    await expectCode(c.set({ key: "k", value: json(1), ifVersion: 3n }), Code.InvalidArgument, /if_version: is only allowed/);
    await expectCode(c.set({ key: "k", value: json(1), mode: 42 as SetMode }), Code.InvalidArgument, /mode: unknown SetMode 42/);
  });

  it("answers NOT_FOUND for a command the namespace does not define", async () => {
    const c = larder.client();
    await expectCode(c.runCommand({ name: "cmd" }), Code.NotFound, /command "cmd" is not defined/);
  });
});

describe.each(conformanceKinds)("conformance: configured limits [%s store]", (kind) => {
  const larder = useLarder(kind, { limits: { maxKeyBytes: 16, maxValueBytes: 64, maxBatchSize: 3, maxPageSize: 5 } });

  it("enforces the configured limits and names them", async () => {
    const c = larder.client();
    await expectCode(c.get({ key: "k".repeat(17) }), Code.InvalidArgument, /key: 17 bytes exceeds the limit of 16 bytes/);
    await expectCode(c.set({ key: "k", value: json("x".repeat(70)) }), Code.InvalidArgument, /value.json: 72 bytes exceeds the limit of 64 bytes/);
    await expectCode(c.getMany({ keys: ["a", "b", "c", "d"] }), Code.InvalidArgument, /batch limit of 3/);
    await expectCode(c.keys({ limit: 6 }), Code.InvalidArgument, /page limit of 5/);
  });
});

describe.each(conformanceKinds)("conformance: API keys [%s store]", (kind) => {
  const larder = useLarder(kind, {
    apiKeys: [
      { sha256: hashApiKey("writer-key"), namespace: "shop" },
      { sha256: hashApiKey("reader-key"), namespace: "shop", permissions: ["read"] },
      { sha256: hashApiKey("other-key"), namespace: "other" },
    ],
  });

  it("requires a known key", async () => {
    await expectCode(larder.client({}).get({ key: "k" }), Code.Unauthenticated, /authorization: missing/);
    await expectCode(larder.client({ apiKey: "nope" }).get({ key: "k" }), Code.Unauthenticated, /unknown API key/);
  });

  it("lets the key decide the namespace and the permissions", async () => {
    const writer = larder.client({ apiKey: "writer-key", namespace: "" });
    const reader = larder.client({ apiKey: "reader-key", namespace: "" });
    const other = larder.client({ apiKey: "other-key", namespace: "" });
    await writer.set({ key: "k", value: json("shop") });
    expect((await reader.get({ key: "k" })).value?.kind.value).toBe('"shop"');
    expect((await other.get({ key: "k" })).found).toBe(false);
    await expectCode(reader.set({ key: "k", value: json(1) }), Code.PermissionDenied, /Set: the API key lacks the "write" permission/);
    await expectCode(reader.lock({ name: "l" }), Code.PermissionDenied, /lock/);
    const spoof = larder.client({ apiKey: "other-key", namespace: "shop" });
    await expectCode(spoof.get({ key: "k" }), Code.PermissionDenied, /larder-namespace: this API key belongs to another namespace/);
  });
});
