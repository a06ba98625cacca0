/**
 * One Lua script of the Redis store: how it is defined, how the client
 * exposes it, and how its reply is decoded. A reply of the wrong shape is a
 * bug in a script, so it throws a plain Error (an INTERNAL answer), never a
 * LarderError.
 */

import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/** One script, as ioredis' `defineCommand` takes it. */
export interface ScriptDefinition {
  /** The Lua source; ioredis runs it by EVALSHA, falling back to EVAL once. */
  readonly lua: string;
  /** Omitted when the caller passes the key count first (variadic scripts). */
  readonly numberOfKeys?: number;
  /** Whether the script never writes. */
  readonly readOnly?: boolean;
}

/**
 * Runs a script without keys on one node, as `defineCommand` would: by its
 * SHA-1, sending the source once when the node does not have it yet (a new
 * or restarted node).
 */
export async function evalOn(node: Redis, script: ScriptDefinition, args: readonly (string | Buffer)[]): Promise<Reply> {
  const sha = shaOf(script);
  // ioredis has a Buffer variant of every command, but its types leave out
  // these two; `callBuffer` is no way round, since auto-pipelining drops its
  // command name (the server then sees the SHA-1 as the command).
  const n = node as unknown as BufferEval;
  try {
    return (await n.evalshaBuffer(sha, 0, ...args)) as Reply;
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return (await n.evalBuffer(script.lua, 0, ...args)) as Reply;
  }
}

interface BufferEval {
  evalshaBuffer(sha: string, keys: number, ...args: (string | Buffer)[]): Promise<unknown>;
  evalBuffer(lua: string, keys: number, ...args: (string | Buffer)[]): Promise<unknown>;
}

const shas = new WeakMap<ScriptDefinition, string>();

function shaOf(script: ScriptDefinition): string {
  let sha = shas.get(script);
  if (sha === undefined) shas.set(script, (sha = createHash("sha1").update(script.lua).digest("hex")));
  return sha;
}

/** A script reply as ioredis hands it over. */
export type Reply = Buffer | string | number | null | Reply[];

/** A script as `defineCommand` adds it to the client: a function per script. */
export type ScriptFn = (...args: (string | Buffer | number)[]) => Promise<Reply>;

/** An array reply. */
export function list(reply: Reply): Reply[] {
  if (!Array.isArray(reply)) throw new Error("redis store: unexpected script reply");
  return reply;
}

/** A bulk string as bytes. */
export function bytes(reply: Reply): Buffer {
  if (Buffer.isBuffer(reply)) return reply;
  if (typeof reply === "string") return Buffer.from(reply, "utf8");
  throw new Error("redis store: unexpected script reply");
}

/** A bulk string or integer as text. */
export function text(reply: Reply): string {
  if (typeof reply === "string") return reply;
  if (typeof reply === "number") return String(reply);
  return bytes(reply).toString("utf8");
}

/** An integer (or its text). */
export function int(reply: Reply | undefined): number {
  // Lua numbers arrive as integer replies: no round trip through text.
  if (typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) {
    const n = digits(reply);
    if (n !== undefined) return n;
  }
  const n = reply === undefined || reply === null ? NaN : Number(text(reply));
  if (!Number.isFinite(n)) throw new Error("redis store: unexpected script reply");
  return n;
}

/** An integer, or undefined for nil or "". */
export function optInt(reply: Reply | undefined): number | undefined {
  if (reply === undefined || reply === null) return undefined;
  if (typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply) ? reply.length === 0 : text(reply) === "") return undefined;
  return int(reply);
}

/**
 * A small non-negative decimal read straight from its bytes; undefined for
 * anything else. Timestamps and versions are read this way on every Get,
 * where a Buffer → string → Number round trip per field showed in profiles.
 */
function digits(buf: Buffer): number | undefined {
  if (buf.length === 0 || buf.length > 15) return undefined;
  let n = 0;
  for (const b of buf) {
    if (b < 0x30 || b > 0x39) return undefined;
    n = n * 10 + (b - 0x30);
  }
  return n;
}
