/**
 * Baseline: a plain @grpc/grpc-js server for the same RPCs (Get, Set,
 * GetMany, Increment of larder.v1.CacheService) over an in-memory Map, with
 * protobuf-es doing the (de)serialisation through a generic service
 * definition. It keeps the metadata Larder keeps (timestamps, version,
 * expiry) so its answers are as large as Larder's; what it skips is
 * everything else Larder does: validation, namespaces, auth, limits, LRU,
 * metrics, errors mapping and the one-port protocol sniffing.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
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
} from "../../server/gen/larder/v1/cache_pb.js";
import { EntryMetadataSchema, ValueSchema, type EntryMetadata, type Value } from "../../server/gen/larder/v1/value_pb.js";
import { announceReady, childConfig } from "../child.js";
import { ttlMs as defaultTtlMs } from "../payloads.js";

/** The config the bench passes. */
export interface GrpcJsMapConfig {
  readonly port: number;
}

interface Entry {
  value: Value;
  readonly createdAt: number;
  updatedAt: number;
  expiresAt: number;
  lastReadAt: number;
  version: bigint;
}

const entries = new Map<string, Entry>();
let lastVersion = 0n;

/** The live entry of a key; expired entries are dropped on read, as Larder's memory store does. */
function live(key: string, now: number): Entry | undefined {
  const entry = entries.get(key);
  if (entry === undefined) return undefined;
  if (entry.expiresAt <= now) {
    entries.delete(key);
    return undefined;
  }
  return entry;
}

function metadataOf(entry: Entry): EntryMetadata {
  return create(EntryMetadataSchema, {
    createdAt: timestampFromMs(entry.createdAt),
    updatedAt: timestampFromMs(entry.updatedAt),
    expiresAt: timestampFromMs(entry.expiresAt),
    lastReadAt: timestampFromMs(entry.lastReadAt),
    version: entry.version,
  });
}

function write(key: string, value: Value, ttl: number, now: number): { entry: Entry; created: boolean } {
  lastVersion += 1n;
  const existing = live(key, now);
  if (existing !== undefined) {
    Object.assign(existing, { value, updatedAt: now, expiresAt: now + ttl, version: lastVersion });
    return { entry: existing, created: false };
  }
  const entry: Entry = { value, createdAt: now, updatedAt: now, expiresAt: now + ttl, lastReadAt: now, version: lastVersion };
  entries.set(key, entry);
  return { entry, created: true };
}

/** A unary method of the generic service definition, (de)serialised by protobuf-es. */
function unary<I extends DescMessage, O extends DescMessage>(
  name: string,
  input: I,
  output: O,
): grpc.MethodDefinition<MessageShape<I>, MessageShape<O>> {
  const bytes = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  return {
    path: `/larder.v1.CacheService/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (msg) => bytes(toBinary(input, msg)),
    requestDeserialize: (buf) => fromBinary(input, buf),
    responseSerialize: (msg) => bytes(toBinary(output, msg)),
    responseDeserialize: (buf) => fromBinary(output, buf),
  };
}

const definition = {
  Get: unary("Get", GetRequestSchema, GetResponseSchema),
  Set: unary("Set", SetRequestSchema, SetResponseSchema),
  GetMany: unary("GetMany", GetManyRequestSchema, GetManyResponseSchema),
  Increment: unary("Increment", IncrementRequestSchema, IncrementResponseSchema),
};

type Handler<M> = M extends grpc.MethodDefinition<infer Req, infer Res> ? grpc.handleUnaryCall<Req, Res> : never;
type Handlers = { [K in keyof typeof definition]: Handler<(typeof definition)[K]> };

const handlers: Handlers = {
  Get(call, done) {
    const now = Date.now();
    const entry = live(call.request.key, now);
    if (entry === undefined) return done(null, create(GetResponseSchema, { found: false }));
    entry.lastReadAt = now;
    done(null, create(GetResponseSchema, { found: true, value: entry.value, metadata: metadataOf(entry) }));
  },
  Set(call, done) {
    const { key, value, expiry } = call.request;
    if (value === undefined) return done({ code: grpc.status.INVALID_ARGUMENT, details: "value: required" });
    const ttl = expiry.case === "ttlMs" ? Number(expiry.value) : defaultTtlMs;
    const { entry, created } = write(key, value, ttl, Date.now());
    done(null, create(SetResponseSchema, { applied: true, created, version: entry.version, expiresAt: timestampFromMs(entry.expiresAt) }));
  },
  GetMany(call, done) {
    const now = Date.now();
    const items = call.request.keys.map((key) => {
      const entry = live(key, now);
      if (entry === undefined) return { key, found: false };
      entry.lastReadAt = now;
      return { key, found: true, value: entry.value, metadata: metadataOf(entry) };
    });
    done(null, create(GetManyResponseSchema, { items }));
  },
  Increment(call, done) {
    const { key, delta, expiry } = call.request;
    const now = Date.now();
    const entry = live(key, now);
    const current = entry?.value.kind.case === "json" ? BigInt(entry.value.kind.value) : 0n;
    const next = current + (delta ?? 1n);
    const value = create(ValueSchema, { kind: { case: "json", value: next.toString() } });
    // An existing key keeps its expiry; a new one gets the request's TTL.
    const ttl = entry !== undefined ? entry.expiresAt - now : expiry.case === "ttlMs" ? Number(expiry.value) : defaultTtlMs;
    const written = write(key, value, ttl, now);
    done(
      null,
      create(IncrementResponseSchema, {
        value: next,
        created: written.created,
        version: written.entry.version,
        expiresAt: timestampFromMs(written.entry.expiresAt),
      }),
    );
  },
};

const config = childConfig<GrpcJsMapConfig>();
const server = new grpc.Server();
server.addService(definition, handlers);
server.bindAsync(`127.0.0.1:${config.port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err !== null) throw err;
  announceReady(config.port, () => server.forceShutdown());
});
