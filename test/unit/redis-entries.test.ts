import { describe, expect, it } from "vitest";
import { decodeEntries } from "../../server/store/redis/entries.js";

describe("redis getMany replies", () => {
  it("decodes hits and misses", () => {
    const reply = ["5", Buffer.from("j1,2,,3,"), Buffer.from("1"), "-", Buffer.from("b4,5,6,7,"), Buffer.from("-")];
    expect(decodeEntries(reply, 3)).toEqual([
      { value: { kind: "json", json: "1" }, meta: { createdAt: 1, updatedAt: 2, expiresAt: undefined, lastReadAt: 5, version: 3 } },
      undefined,
      { value: { kind: "binary", binary: new Uint8Array([0x2d]) }, meta: { createdAt: 4, updatedAt: 5, expiresAt: 6, lastReadAt: 5, version: 7 } },
    ]);
  });

  it("rejects replies of the wrong shape, as a script bug", () => {
    const header = Buffer.from("j1,2,,3,");
    for (const bad of [
      ["5", header],
      ["5", header, Buffer.from("1")],
      ["5", Buffer.from("j1,2,,3"), Buffer.from("1")],
      ["5", Buffer.from("x1,2,,3,"), Buffer.from("1")],
      ["5", Buffer.from("j1,,,3,"), Buffer.from("1")],
      ["5", Buffer.from("j1,2,,3,4,"), Buffer.from("1")],
      ["5", "-", "-", "-"],
      "nope",
    ]) {
      expect(() => decodeEntries(bad, 2)).toThrow(/unexpected script reply/);
    }
  });
});
