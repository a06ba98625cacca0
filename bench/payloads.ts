import { create, fromBinary, toBinary, toJsonString, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  GetManyRequestSchema,
  GetManyResponseSchema,
  GetRequestSchema,
  GetResponseSchema,
  IncrementRequestSchema,
  IncrementResponseSchema,
  SetRequestSchema,
  SetResponseSchema,
  type GetResponse,
} from "../server/gen/larder/v1/cache_pb.js";
import { ValueSchema, type Value } from "../server/gen/larder/v1/value_pb.js";

/** The calls a benchmark case can make, one RPC each. */
export type Op = "get-hit" | "get-miss" | "set" | "get-many" | "increment";

/** Every op, in report order. */
export const ops: readonly Op[] = ["get-hit", "get-miss", "set", "get-many", "increment"];

/** How many keys one GetMany (and one ioredis MGET) reads. */
export const manyKeys = 100;

/** The TTL every benchmark write asks for: long enough to outlive any run. */
export const ttlMs = 3_600_000;

/** The RPC name an op calls, as in `/larder.v1.CacheService/<name>`. */
export function rpcOf(op: Op): "Get" | "Set" | "GetMany" | "Increment" {
  switch (op) {
    case "get-hit":
    case "get-miss":
      return "Get";
    case "set":
      return "Set";
    case "get-many":
      return "GetMany";
    case "increment":
      return "Increment";
  }
}

/** The URL path of an op's RPC. */
export function pathOf(op: Op): string {
  return `/larder.v1.CacheService/${rpcOf(op)}`;
}

/** The key a Get hit reads; one per value size so sizes never mix. */
export function hitKey(valueBytes: number): string {
  return `bench:v${valueBytes}`;
}

/** The keys a GetMany reads, all present with values of the given size. */
export function getManyKeys(valueBytes: number): string[] {
  return Array.from({ length: manyKeys }, (_, i) => `bench:m${valueBytes}:${i}`);
}

/** A key nothing ever writes. */
export const missKey = "bench:missing";

/** The key Increment counts on. */
export const counterKey = "bench:counter";

/** The key Set overwrites; apart from hitKey so that Get hits keep their value. */
export function setKey(valueBytes: number): string {
  return `bench:s${valueBytes}`;
}

/**
 * The JSON text of a value of exactly `bytes` bytes: a JSON string, since
 * that is what most SDK callers store and it costs the server no parsing
 * beyond validation.
 */
export function jsonValueText(bytes: number): string {
  return `"${"x".repeat(Math.max(0, bytes - 2))}"`;
}

/** A protobuf Value holding {@link jsonValueText}. */
export function jsonValue(bytes: number): Value {
  return create(ValueSchema, { kind: { case: "json", value: jsonValueText(bytes) } });
}

/** An op's request message, encoded for the wire, plus the same in Connect JSON. */
export interface EncodedRequest {
  readonly path: string;
  /** The protobuf bytes of the request message. */
  readonly binary: Uint8Array;
  /** The request as Connect unary JSON, for HTTP/1.1 loads. */
  readonly json: string;
}

/** The request that an op sends, the same for every call of a run. */
export function requestFor(op: Op, valueBytes: number): EncodedRequest {
  const encode = <D extends DescMessage>(schema: D, msg: MessageShape<D>): EncodedRequest => ({
    path: pathOf(op),
    binary: toBinary(schema, msg),
    json: toJsonString(schema, msg),
  });
  switch (op) {
    case "get-hit":
      return encode(GetRequestSchema, create(GetRequestSchema, { key: hitKey(valueBytes) }));
    case "get-miss":
      return encode(GetRequestSchema, create(GetRequestSchema, { key: missKey }));
    case "set":
      return encode(
        SetRequestSchema,
        create(SetRequestSchema, {
          key: setKey(valueBytes),
          value: jsonValue(valueBytes),
          expiry: { case: "ttlMs", value: BigInt(ttlMs) },
        }),
      );
    case "get-many":
      return encode(GetManyRequestSchema, create(GetManyRequestSchema, { keys: getManyKeys(valueBytes) }));
    case "increment":
      return encode(
        IncrementRequestSchema,
        create(IncrementRequestSchema, { key: counterKey, expiry: { case: "ttlMs", value: BigInt(ttlMs) } }),
      );
  }
}

/** The Set requests that make an op's reads hit: none for ops that read nothing stored. */
export function primingRequests(op: Op, valueBytes: number): EncodedRequest[] {
  const keys = op === "get-hit" ? [hitKey(valueBytes)] : op === "get-many" ? getManyKeys(valueBytes) : [];
  return keys.map((key) => {
    const msg = create(SetRequestSchema, { key, value: jsonValue(valueBytes), expiry: { case: "ttlMs", value: BigInt(ttlMs) } });
    return { path: pathOf("set"), binary: toBinary(SetRequestSchema, msg), json: toJsonString(SetRequestSchema, msg) };
  });
}

/**
 * Prefixes a message with gRPC's 5-byte length prefix (uncompressed flag,
 * big-endian length), which is what h2load must send as the request body.
 */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/**
 * A GetResponse hit as Larder sends it: the value plus full metadata, so
 * that baselines answer with as many bytes as Larder does.
 */
export function hitResponse(valueBytes: number, now = Date.now()): GetResponse {
  return create(GetResponseSchema, {
    found: true,
    value: jsonValue(valueBytes),
    metadata: {
      createdAt: timestampFromMs(now),
      updatedAt: timestampFromMs(now),
      expiresAt: timestampFromMs(now + ttlMs),
      lastReadAt: timestampFromMs(now),
      version: 1n,
    },
  });
}

/** A {@link hitResponse} encoded as one gRPC data frame. */
export function hitResponseFrame(valueBytes: number): Buffer {
  return grpcFrame(toBinary(GetResponseSchema, hitResponse(valueBytes)));
}

/** A {@link hitResponse} as Connect unary JSON, as Larder answers over HTTP/1.1. */
export function hitResponseJson(valueBytes: number): string {
  return toJsonString(GetResponseSchema, hitResponse(valueBytes));
}

/**
 * Checks that a response message says what the op expects, so that a run
 * measuring misses where it meant hits (or failed writes) is caught before
 * it is timed. Returns a description of the problem, or undefined.
 */
export function checkResponse(op: Op, valueBytes: number, message: Uint8Array): string | undefined {
  switch (op) {
    case "get-hit": {
      const res = fromBinary(GetResponseSchema, message);
      if (!res.found) return "Get answered a miss where a hit was primed";
      const value = res.value?.kind;
      if (value?.case !== "json" || value.value.length !== valueBytes) return "Get answered a value of the wrong size";
      return undefined;
    }
    case "get-miss":
      return fromBinary(GetResponseSchema, message).found ? "Get answered a hit for a key never written" : undefined;
    case "set":
      return fromBinary(SetResponseSchema, message).applied ? undefined : "Set was not applied";
    case "get-many": {
      const items = fromBinary(GetManyResponseSchema, message).items;
      if (items.length !== manyKeys) return `GetMany answered ${items.length} items, not ${manyKeys}`;
      return items.every((item) => item.found) ? undefined : "GetMany answered misses where hits were primed";
    }
    case "increment":
      return fromBinary(IncrementResponseSchema, message).value > 0n ? undefined : "Increment did not count up";
  }
}
