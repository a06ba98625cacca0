import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Value } from "../../server/gen/larder/v1/value_pb.js";

/** Milliseconds since the epoch of a timestamp; undefined when unset. */
export function ms(t: Timestamp | undefined): number | undefined {
  return t === undefined ? undefined : timestampDate(t).getTime();
}

/** A time as the user's locale shows it, with seconds; "—" when unset. */
export function clock(t: number | undefined): string {
  return t === undefined ? "—" : new Date(t).toLocaleString(undefined, { hour12: false });
}

/** A duration as `1d 2h`, `3m 04s` or `12s`; "expired" when not positive. */
export function duration(msLeft: number): string {
  if (msLeft <= 0) return "expired";
  const s = Math.floor(msLeft / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** A number with at most `digits` decimals, and no trailing zeros. */
export function num(n: number, digits = 1): string {
  return Number.isFinite(n) ? String(Math.round(n * 10 ** digits) / 10 ** digits) : "—";
}

/** How a value is shown: its kind, and text to put in a text node (never markup). */
export interface ShownValue {
  readonly kind: "json" | "binary";
  readonly text: string;
  readonly bytes: number;
}

/** A JSON value pretty-printed; binary as a hex dump or base64. */
export function showValue(v: Value | undefined, binaryAs: "hex" | "base64"): ShownValue {
  if (v?.kind.case === "json") {
    const raw = v.kind.value;
    let text = raw;
    try {
      text = JSON.stringify(JSON.parse(raw), null, 2);
    } catch {
      // Shown as stored: the server only ever stores valid JSON here.
    }
    return { kind: "json", text, bytes: new TextEncoder().encode(raw).length };
  }
  const bytes = v?.kind.case === "binary" ? v.kind.value : new Uint8Array();
  return { kind: "binary", text: binaryAs === "hex" ? hexDump(bytes) : base64(bytes), bytes: bytes.length };
}

/** 16 bytes a line: offset, hex, and printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${i.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join("\n");
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
