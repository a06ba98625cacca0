/**
 * The byte-level writing of protobuf binary that ./binary-encoder.ts builds
 * its encoders from: a growable output, varints, tags, and nested lengths
 * written into one reserved byte.
 */

/** The buffer being written, grown by doubling. */
export interface Out {
  buf: Buffer;
  pos: number;
}

/**
 * Writes a short string at `pos`, returning the end: ASCII byte by byte,
 * which for short keys beats the call into Buffer's
 * UTF-8 writer, and anything else through that writer.
 */
export function writeShortText(buf: Buffer, pos: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return pos + buf.write(text, pos, "utf8");
    buf[pos + i] = c;
  }
  return pos + text.length;
}

/** A 64-bit field's value as a bigint: protobuf-es holds bigint, or a string with `jstype = JS_STRING`. */
export function big(v: unknown): bigint {
  return typeof v === "bigint" ? v : BigInt(v as string | number);
}

/** Makes room for `n` more bytes. */
export function ensure(out: Out, n: number): void {
  if (out.pos + n <= out.buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(out.buf.length * 2, out.pos + n));
  out.buf.copy(grown, 0, 0, out.pos);
  out.buf = grown;
}

/** Makes room for `n` more bytes and returns the buffer to write them into, at `out.pos`. */
export function room(out: Out, n: number): Buffer {
  ensure(out, n);
  return out.buf;
}

/** Reserves one byte for a length; returns where it is. */
export function reserveLength(out: Out): number {
  ensure(out, 1);
  return out.pos++;
}

/** Writes the length of what follows the byte reserved at `at`, moving it when the length needs more bytes. */
export function commitLength(out: Out, at: number): void {
  const length = out.pos - at - 1;
  if (length < 128) {
    out.buf[at] = length;
    return;
  }
  const extra = varintSize(length) - 1;
  ensure(out, extra);
  out.buf.copyWithin(at + 1 + extra, at + 1, out.pos);
  out.pos += extra;
  const end = out.pos;
  out.pos = at;
  writeVarint(out, length);
  out.pos = end;
}

/** Writes a field tag: the field number and wire type. */
export function writeTag(out: Out, no: number, wire: number): void {
  writeVarint(out, ((no << 3) | wire) >>> 0);
}

/** Bytes of a varint of a non-negative safe integer. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes a non-negative safe integer as a varint. */
export function writeVarint(out: Out, n: number): void {
  // Below 2^31 the bits fit int32 arithmetic; above, two 32-bit halves do.
  // Float division per byte was a third of the time of encoding a
  // GetMany(100) answer, whose timestamps and versions are all large.
  if (n < 0x80000000) {
    ensure(out, 5);
    const buf = out.buf;
    while (n > 127) {
      buf[out.pos++] = (n & 127) | 128;
      n >>>= 7;
    }
    buf[out.pos++] = n;
    return;
  }
  const lo = n >>> 0;
  writeVarint64(out, lo, (n - lo) / 4294967296);
}

/** Writes a 64-bit unsigned value as a varint. */
export function writeBigVarint(out: Out, u: bigint): void {
  writeVarint64(out, Number(u & 0xffffffffn), Number(u >> 32n));
}

/** Writes a 64-bit varint given as two unsigned 32-bit halves. */
export function writeVarint64(out: Out, lo: number, hi: number): void {
  ensure(out, 10);
  const buf = out.buf;
  for (let i = 0; i < 9; i++) {
    if (hi === 0 && lo < 128) {
      buf[out.pos++] = lo;
      return;
    }
    buf[out.pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi = hi >>> 7;
  }
  buf[out.pos++] = lo;
}
