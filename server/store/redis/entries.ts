/**
 * Decoding of the entry answers of the get and getMany scripts (see
 * scripts.ts), with the encoding of values on the way in.
 */

import { bytes, int, list, type Reply } from "./script.js";
import type { Entry, StoredValue } from "../store.js";

/** A value as the scripts take it, with its kind field `t`. */
export function encodeValue(value: StoredValue): [string | Buffer, "j" | "b"] {
  // JSON goes in as text so that `redis-cli HGET` shows it readable.
  return value.kind === "json"
    ? [value.json, "j"]
    : [Buffer.from(value.binary.buffer, value.binary.byteOffset, value.binary.byteLength), "b"];
}

const comma = 0x2c;
const miss = 0x2d; // "-"
const binaryKind = 0x62; // "b"
const jsonKind = 0x6a; // "j"

/**
 * Decodes the get and getMany scripts' answer into `count` entries: now, then per
 * key `-` (missing) or a header `<t><c>,<u>,<x>,<n>,` followed by the value
 * (`x` empty when the entry never expires); every hit was read at now.
 *
 * Two bulk strings per hit rather than an array of seven fields: ioredis
 * makes an object for each bulk string, and the script a Lua value for each
 * element. One string for the whole answer cost Node less still, but Redis
 * more (Lua copies every value into its record, then into the answer), and
 * Redis is what many Larder instances share.
 */
export function decodeEntries(reply: Reply, count: number): (Entry | undefined)[] {
  const parts = list(reply);
  const now = int(parts[0]);
  const out: (Entry | undefined)[] = new Array<Entry | undefined>(count);
  const r = new HeaderReader();
  let p = 1;
  for (let i = 0; i < count; i++) {
    const kind = r.reset(bytes(parts[p++] ?? null));
    if (kind === miss && r.done()) {
      out[i] = undefined;
      continue;
    }
    if (kind !== jsonKind && kind !== binaryKind) throw malformed();
    const createdAt = r.number();
    const updatedAt = r.number();
    const expiresAt = r.optNumber();
    const version = r.number();
    if (!r.done()) throw malformed();
    const v = bytes(parts[p++] ?? null);
    // A copy of binary values, so that a kept value does not pin the socket chunk.
    const value: StoredValue =
      kind === jsonKind ? { kind: "json", json: v.toString("utf8") } : { kind: "binary", binary: new Uint8Array(v) };
    out[i] = { value, meta: { createdAt, updatedAt, expiresAt, lastReadAt: now, version } };
  }
  if (p !== parts.length) throw malformed();
  return out;
}

/** A cursor over one header: its kind byte, then comma-terminated decimals. */
class HeaderReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  /** Starts on `buf`; returns its first byte. */
  reset(buf: Buffer): number {
    this.buf = buf;
    this.pos = 1;
    const b = buf[0];
    if (b === undefined) throw malformed();
    return b;
  }

  /** A non-negative decimal and its comma. */
  number(): number {
    const n = this.optNumber();
    if (n === undefined) throw malformed();
    return n;
  }

  /** Like `number`, but undefined when empty. */
  optNumber(): number | undefined {
    const buf = this.buf;
    const start = this.pos;
    let n = 0;
    for (let p = start; p < buf.length; p++) {
      const b = buf[p] as number;
      if (b === comma) {
        this.pos = p + 1;
        if (p === start) return undefined;
        // Beyond 15 digits the running sum can round differently from Number().
        return p - start > 15 ? Number(buf.toString("latin1", start, p)) : n;
      }
      if (b < 0x30 || b > 0x39) break;
      n = n * 10 + (b - 0x30);
    }
    throw malformed();
  }

  done(): boolean {
    return this.pos === this.buf.length;
  }
}

function malformed(): Error {
  return new Error("redis store: unexpected script reply");
}
