import { describe, expect, it } from "vitest";
import { decodeEntry, headerBytes, headerExpiry } from "../../server/store/redis/entries.js";

const header = (kind: string, c: number, u: number, x: number, r: number, n: number): string =>
  `${kind}:${[c, u, x, r].map((v) => String(v).padStart(13, "0")).join(":")}:${String(n).padStart(16, "0")}\n`;

describe("redis entry strings", () => {
  it("decodes JSON and binary entries, with never-expiring and never-read as undefined", () => {
    const json = Buffer.from(header("j", 1, 2, 0, 0, 3) + '{"a":"é"}');
    expect(json.indexOf("{")).toBe(headerBytes);
    const decoded = decodeEntry(json);
    expect(decoded?.meta).toEqual({ createdAt: 1, updatedAt: 2, expiresAt: undefined, lastReadAt: undefined, version: 3 });
    expect(decoded?.value.kind).toBe("json");
    expect(decoded?.value.kind === "json" && decoded.value.json).toBe('{"a":"é"}');
    // The text also stays as the UTF-8 bytes Redis sent, for the binary transport.
    expect(decoded?.value.kind === "json" && Buffer.from(decoded.value.utf8 ?? []).toString("utf8")).toBe('{"a":"é"}');
    const binary = Buffer.concat([Buffer.from(header("b", 4, 5, 6, 7, 1764460000000123)), Buffer.from([0, 0x2d, 255])]);
    expect(decodeEntry(binary)).toEqual({
      value: { kind: "binary", binary: new Uint8Array([0, 0x2d, 255]) },
      meta: { createdAt: 4, updatedAt: 5, expiresAt: 6, lastReadAt: 7, version: 1764460000000123 },
    });
    expect(decodeEntry(null)).toBeUndefined();
    expect(headerExpiry(binary.subarray(0, headerBytes))).toBe(6);
  });

  it("keeps JSON that is not valid UTF-8 only as text, so that no invalid string reaches the wire", () => {
    const invalid = Buffer.concat([Buffer.from(header("j", 1, 2, 0, 0, 3) + '"'), Buffer.from([0xc3, 0x28]), Buffer.from('"')]);
    const value = decodeEntry(invalid)?.value;
    expect(value?.kind === "json" && value.utf8).toBe(undefined);
    expect(value?.kind === "json" && value.json).toBe('"\ufffd("');
  });

  it("takes a newer header and a tracked read time over the stored ones", () => {
    const stored = Buffer.from(header("j", 1, 2, 10, 0, 3) + "1");
    const newer = Buffer.from(header("j", 1, 2, 20, 15, 3));
    expect(decodeEntry(stored, newer)?.meta).toMatchObject({ expiresAt: 20, lastReadAt: 15 });
    expect(decodeEntry(stored, undefined, 99)?.meta.lastReadAt).toBe(99);
  });

  it("rejects strings that are not entries, as a layout bug", () => {
    for (const bad of [
      "",
      "j:1:2",
      header("x", 1, 2, 0, 0, 3) + "1",
      header("j", 1, 2, 0, 0, 3).replace("\n", " ") + "1",
      header("j", 1, 2, 0, 0, 3).replace(":0000000000001", ":00000000000a1") + "1",
    ]) {
      expect(() => decodeEntry(Buffer.from(bad))).toThrow(/unexpected header/);
    }
  });
});
