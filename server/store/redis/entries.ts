/**
 * How an entry sits in Redis: one string, a fixed-width header line, then
 * the value as it was written, so that `redis-cli GET` shows JSON readable:
 *
 * ```
 * j:1764460000000:1764460000000:1764463600000:0000000000000:1764460000000123
 * {"name":"Alice"}
 * ```
 *
 * kind (`j` JSON text, `b` bytes), created, updated, expires (0 when never)
 * and last read (0 when never, or when reads are not tracked), all in ms
 * since the epoch, 13 digits; then the version, 16 digits. Being a plain
 * string is what lets reads be a GET or an MGET, with no script and no write,
 * and being fixed-width is what lets Extend, touch and read tracking rewrite
 * one field in place (SETRANGE) without copying the value. The key carries
 * the expiry too (PXAT), so Redis does the expiring.
 */

import { isUtf8 } from "node:buffer";
import type { Entry, StoredValue } from "../store.js";

/** Bytes of the header, its newline included; the value starts here. */
export const headerBytes = 75;

/** Offsets of the fields that scripts rewrite in place. */
export const headerOffsets = { expires: 30, lastRead: 44 } as const;

/**
 * The Lua that reads and writes the header: `entry_header(...)` formats one,
 * `hfield(h, offset, width)` reads a number from one (false when 0).
 */
export const headerLua = `
local HEADER = ${headerBytes}
local function entry_header(kind, c, u, x, r, n)
  return string.format('%s:%013.0f:%013.0f:%013.0f:%013.0f:%016.0f\\n', kind, c, u, x or 0, r or 0, n)
end
local function hfield(h, offset, width)
  local v = tonumber(string.sub(h, offset + 1, offset + width))
  if v == 0 then return false end
  return v
end
local function h_kind(h) return string.sub(h, 1, 1) end
local function h_created(h) return hfield(h, 2, 13) end
local function h_expires(h) return hfield(h, 30, 13) end
local function h_read(h) return hfield(h, 44, 13) end
local function h_version(h) return hfield(h, 58, 16) end
`;

/** A value as the scripts take it, with its kind. */
export function encodeValue(value: StoredValue): [string | Buffer, "j" | "b"] {
  // JSON goes in as text so that `redis-cli GET` shows it readable.
  return value.kind === "json"
    ? [value.json, "j"]
    : [Buffer.from(value.binary.buffer, value.binary.byteOffset, value.binary.byteLength), "b"];
}

const binaryKind = 0x62; // "b"
const jsonKind = 0x6a; // "j"
const newline = 0x0a;

/**
 * Decodes one stored entry (a GET or MGET reply), or undefined for a miss.
 * @param stored the whole string, header and value.
 * @param header a newer header for the same value (after touch or read tracking), if any.
 * @param readAt the read time that tracking recorded after `stored` was read, if any.
 */
export function decodeEntry(stored: Buffer | null, header?: Buffer, readAt?: number): Entry | undefined {
  if (stored === null) return undefined;
  const h = header ?? stored;
  if (stored.length < headerBytes || h.length < headerBytes || h[headerBytes - 1] !== newline) throw malformed();
  const kind = h[0];
  const createdAt = digits(h, 2, 13);
  const updatedAt = digits(h, 16, 13);
  const expiresAt = digits(h, 30, 13);
  const lastReadAt = readAt ?? digits(h, 44, 13);
  const version = digits(h, 58, 16);
  let value: StoredValue;
  if (kind === jsonKind) {
    const text = stored.subarray(headerBytes);
    // Kept as bytes when they are valid UTF-8 (always, for what Larder
    // wrote): the binary transport sends them as they are.
    value = isUtf8(text) ? new StoredJson(text) : { kind: "json", json: text.toString("utf8") };
  }
  // A copy of binary values, so that a kept value does not pin the socket chunk.
  else if (kind === binaryKind) value = { kind: "binary", binary: new Uint8Array(stored.subarray(headerBytes)) };
  else throw malformed();
  return {
    value,
    meta: {
      createdAt,
      updatedAt,
      expiresAt: expiresAt === 0 ? undefined : expiresAt,
      lastReadAt: lastReadAt === 0 ? undefined : lastReadAt,
      version,
    },
  };
}

/**
 * A JSON value read from Redis, as the bytes Redis sent: decoding them to a
 * string and encoding that string again for the answer was a fifth of the
 * Node time of a GetMany(100) of 100 B values. The bytes are a view of the
 * reply, held for the call that read them.
 */
class StoredJson {
  readonly kind = "json";
  private text: string | undefined;

  constructor(readonly utf8: Buffer) {}

  /** The JSON text, decoded on first use. */
  get json(): string {
    return (this.text ??= this.utf8.toString("utf8"));
  }
}

/** The expiry in a header: undefined when the entry never expires. */
export function headerExpiry(h: Buffer): number | undefined {
  if (h.length < headerBytes) throw malformed();
  const x = digits(h, 30, 13);
  return x === 0 ? undefined : x;
}

/** A fixed-width decimal field; at most 16 digits, so the sum stays exact. */
function digits(buf: Buffer, at: number, width: number): number {
  let n = 0;
  for (let p = at; p < at + width; p++) {
    const d = (buf[p] as number) - 0x30;
    if (d < 0 || d > 9) throw malformed();
    n = n * 10 + d;
  }
  return n;
}

function malformed(): Error {
  return new Error("redis store: an entry with an unexpected header");
}
