/**
 * Decoding of Lua script replies, shared by the Redis store's modules. A
 * reply of the wrong shape is a bug in a script, so it throws a plain Error
 * (an INTERNAL answer), never a LarderError.
 */

/** A script reply as ioredis hands it over. */
export type Reply = Buffer | string | number | null | Reply[];

/** A script function as `defineCommand` adds it to the client. */
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
  const n = reply === undefined || reply === null ? NaN : Number(text(reply));
  if (!Number.isFinite(n)) throw new Error("redis store: unexpected script reply");
  return n;
}

/** An integer, or undefined for nil or "". */
export function optInt(reply: Reply | undefined): number | undefined {
  if (reply === undefined || reply === null) return undefined;
  return text(reply) === "" ? undefined : int(reply);
}
