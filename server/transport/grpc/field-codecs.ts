/**
 * How each protobuf scalar type goes on the wire: its wire type and a
 * writer of one value, without its tag. ./binary-encoder.ts builds message
 * encoders from these.
 */

import { ScalarType } from "@bufbuild/protobuf";
import { big, commitLength, ensure, room, writeBigVarint, writeShortText, writeVarint, writeVarint64, type Out } from "./wire-writer.js";

/** Protobuf wire types. */
export const Wire = { Varint: 0, Bit64: 1, Delimited: 2, Bit32: 5 } as const;

/** Writes one value, without its tag. */
export type WriteValue = (value: unknown, out: Out) => void;

/** One value type: its wire type and its writer. */
export interface ValueCodec {
  readonly wire: number;
  readonly write: WriteValue;
}

/** Map keys are object keys, so strings; the wire wants the key's own type. */
export function mapKeyConverter(type: ScalarType): (key: string) => unknown {
  switch (type) {
    case ScalarType.STRING:
      return (k) => k;
    case ScalarType.BOOL:
      return (k) => k === "true";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return (k) => BigInt(k);
    default:
      return (k) => Number.parseInt(k, 10);
  }
}

/** The codec of one scalar type (enums are INT32 on the wire). */
export function scalarCodec(type: ScalarType): ValueCodec {
  switch (type) {
    case ScalarType.STRING:
      return {
        wire: Wire.Delimited,
        write(v, out) {
          const text = v as string;
          // At most three bytes per UTF-16 unit.
          ensure(out, 1 + text.length * 3);
          const at = out.pos++;
          out.pos = text.length <= 32 ? writeShortText(out.buf, out.pos, text) : out.pos + out.buf.write(text, out.pos, "utf8");
          commitLength(out, at);
        },
      };
    case ScalarType.BYTES:
      return {
        wire: Wire.Delimited,
        write(v, out) {
          const bytes = v as Uint8Array;
          writeVarint(out, bytes.length);
          ensure(out, bytes.length);
          out.buf.set(bytes, out.pos);
          out.pos += bytes.length;
        },
      };
    case ScalarType.BOOL:
      return { wire: Wire.Varint, write: (v, out) => writeVarint(out, v === true ? 1 : 0) };
    case ScalarType.INT32:
      // Negative int32 values are sign-extended to 64 bits: ten bytes.
      return { wire: Wire.Varint, write: (v, out) => ((v as number) < 0 ? writeVarint64(out, (v as number) >>> 0, 0xffffffff) : writeVarint(out, v as number)) };
    case ScalarType.UINT32:
      return { wire: Wire.Varint, write: (v, out) => writeVarint(out, (v as number) >>> 0) };
    case ScalarType.SINT32:
      return { wire: Wire.Varint, write: (v, out) => writeVarint(out, (((v as number) << 1) ^ ((v as number) >> 31)) >>> 0) };
    case ScalarType.INT64:
    case ScalarType.UINT64:
      return {
        wire: Wire.Varint,
        write(v, out) {
          // One conversion decides: Number() of a bigint beyond 2^53 rounds
          // to a value that is no safe integer. Timestamps and versions are
          // int64, four or five per GetMany entry.
          const n = typeof v === "bigint" || typeof v === "number" ? Number(v) : Number.NaN;
          if (n >= 0 && Number.isSafeInteger(n)) writeVarint(out, n);
          else writeBigVarint(out, BigInt.asUintN(64, big(v)));
        },
      };
    case ScalarType.SINT64:
      return {
        wire: Wire.Varint,
        write(v, out) {
          const n = big(v);
          writeBigVarint(out, BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
        },
      };
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return { wire: Wire.Bit64, write: (v, out) => void (out.pos = room(out, 8).writeBigUInt64LE(BigInt.asUintN(64, big(v)), out.pos)) };
    case ScalarType.DOUBLE:
      return { wire: Wire.Bit64, write: (v, out) => void (out.pos = room(out, 8).writeDoubleLE(v as number, out.pos)) };
    case ScalarType.FLOAT:
      return { wire: Wire.Bit32, write: (v, out) => void (out.pos = room(out, 4).writeFloatLE(v as number, out.pos)) };
    case ScalarType.FIXED32:
      return { wire: Wire.Bit32, write: (v, out) => void (out.pos = room(out, 4).writeUInt32LE((v as number) >>> 0, out.pos)) };
    case ScalarType.SFIXED32:
      return { wire: Wire.Bit32, write: (v, out) => void (out.pos = room(out, 4).writeInt32LE(v as number, out.pos)) };
  }
}
