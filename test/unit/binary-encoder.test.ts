/**
 * The two-pass binary encoder must give exactly the bytes of protobuf-es'
 * toBinary, for every message type Larder answers with and for every kind
 * of field protobuf has (a test-only proto3 type built from a descriptor).
 */
import { describe, expect, it } from "vitest";
import {
  create,
  createFileRegistry,
  fromBinary,
  toBinary,
  ScalarType,
  type DescField,
  type DescMessage,
  type Message,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  StructSchema,
  TimestampSchema,
} from "@bufbuild/protobuf/wkt";
import { binaryEncoder } from "../../server/transport/grpc/binary-encoder.js";
import { CacheService } from "../../server/gen/larder/v1/cache_pb.js";

/** A deterministic random source, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const strings = ["", "k", "key-1", "héllo wörld", "日本語のキー", "emoji 🎉🚀", "\u0000nul", "lone \ud800 surrogate", "x".repeat(300)];

function scalar(type: ScalarType, r: () => number): unknown {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(r() * values.length)] as T;
  switch (type) {
    case ScalarType.STRING:
      return pick(strings);
    case ScalarType.BYTES:
      return pick([new Uint8Array(0), new Uint8Array([0, 1, 255]), new Uint8Array(200).fill(7)]);
    case ScalarType.BOOL:
      return r() < 0.5;
    case ScalarType.DOUBLE:
      return pick([0, -0, 1.5, -1e300, Number.MAX_VALUE, Number.NaN, Infinity]);
    case ScalarType.FLOAT:
      return pick([0, 1.5, -3.25, 1e30]);
    case ScalarType.INT32:
    case ScalarType.SFIXED32:
    case ScalarType.SINT32:
      return pick([0, 1, 127, 128, 300, -1, -129, 2147483647, -2147483648]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return pick([0, 1, 127, 128, 16384, 4294967295]);
    case ScalarType.INT64:
    case ScalarType.SFIXED64:
    case ScalarType.SINT64:
      return pick([0n, 1n, 127n, 128n, 1_700_000_000_000n, -1n, -300n, 9007199254740993n, -9223372036854775808n, 9223372036854775807n]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return pick([0n, 1n, 128n, 1_700_000_000_000n, 9007199254740993n, 18446744073709551615n]);
  }
}

/** A random message of `desc`, every field set or left unset at random. */
function randomMessage(desc: DescMessage, r: () => number, depth = 0): Message {
  const init: Record<string, unknown> = {};
  const setOneofs = new Set<string>();
  for (const field of desc.fields) {
    if (r() < 0.3) continue;
    const value = randomField(field, r, depth);
    if (value === undefined) continue;
    if (field.oneof !== undefined) {
      if (setOneofs.has(field.oneof.localName)) continue;
      setOneofs.add(field.oneof.localName);
      init[field.oneof.localName] = { case: field.localName, value };
    } else {
      init[field.localName] = value;
    }
  }
  return create(desc, init as never) as Message;
}

function randomField(field: DescField, r: () => number, depth: number): unknown {
  const count = Math.floor(r() * 4);
  const enumValue = (values: readonly { number: number }[]): number => values[Math.floor(r() * values.length)]?.number ?? 0;
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar, r);
    case "enum":
      return enumValue(field.enum.values);
    case "message":
      return depth > 3 ? undefined : randomMessage(field.message, r, depth + 1);
    case "list":
      if (field.listKind === "message") return depth > 3 ? [] : Array.from({ length: count }, () => randomMessage(field.message, r, depth + 1));
      if (field.listKind === "enum") return Array.from({ length: count }, () => enumValue(field.enum.values));
      return Array.from({ length: count }, () => scalar(field.scalar, r));
    case "map": {
      const record: Record<string, unknown> = {};
      if (field.mapKind === "message" && depth > 3) return record;
      for (let i = 0; i < count; i++) {
        const key = String(scalar(field.mapKey, r));
        if (field.mapKind === "message") record[key] = randomMessage(field.message, r, depth + 1);
        else if (field.mapKind === "enum") record[key] = enumValue(field.enum.values);
        else record[key] = scalar(field.scalar, r);
      }
      return record;
    }
  }
}

/** Every message type reachable from the CacheService's requests and responses. */
function cacheMessages(): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const visit = (desc: DescMessage): void => {
    if (seen.has(desc.typeName)) return;
    seen.set(desc.typeName, desc);
    for (const field of desc.fields) if (field.message !== undefined) visit(field.message);
  };
  for (const method of CacheService.methods) {
    visit(method.input);
    visit(method.output);
  }
  return [...seen.values()];
}

/** A proto3 type with every kind of field, built from its descriptor. */
function allKinds(): DescMessage {
  const scalarTypes: [string, Type][] = [
    ["double", Type.DOUBLE],
    ["float", Type.FLOAT],
    ["int64", Type.INT64],
    ["uint64", Type.UINT64],
    ["int32", Type.INT32],
    ["fixed64", Type.FIXED64],
    ["fixed32", Type.FIXED32],
    ["bool", Type.BOOL],
    ["string", Type.STRING],
    ["bytes", Type.BYTES],
    ["uint32", Type.UINT32],
    ["sfixed32", Type.SFIXED32],
    ["sfixed64", Type.SFIXED64],
    ["sint32", Type.SINT32],
    ["sint64", Type.SINT64],
  ];
  const fields: object[] = [];
  let no = 1;
  for (const [name, type] of scalarTypes) {
    fields.push({ name: `s_${name}`, number: no++, type, label: Label.OPTIONAL, jsonName: `s${name}` });
    fields.push({ name: `r_${name}`, number: no++, type, label: Label.REPEATED, jsonName: `r${name}` });
    fields.push({ name: `o_${name}`, number: no++, type, label: Label.OPTIONAL, proto3Optional: true, jsonName: `o${name}` });
  }
  const oneofs = [{ name: "choice" }];
  fields.push({ name: "c_text", number: no++, type: Type.STRING, label: Label.OPTIONAL, oneofIndex: 0 });
  fields.push({ name: "c_sub", number: no++, type: Type.MESSAGE, typeName: ".t.All", label: Label.OPTIONAL, oneofIndex: 0 });
  fields.push({ name: "sub", number: no++, type: Type.MESSAGE, typeName: ".t.All", label: Label.OPTIONAL });
  fields.push({ name: "subs", number: no++, type: Type.MESSAGE, typeName: ".t.All", label: Label.REPEATED });
  fields.push({ name: "color", number: no++, type: Type.ENUM, typeName: ".t.Color", label: Label.OPTIONAL });
  fields.push({ name: "colors", number: no++, type: Type.ENUM, typeName: ".t.Color", label: Label.REPEATED });
  fields.push({ name: "by_id", number: no++, type: Type.MESSAGE, typeName: ".t.All.ByIdEntry", label: Label.REPEATED });
  fields.push({ name: "names", number: no++, type: Type.MESSAGE, typeName: ".t.All.NamesEntry", label: Label.REPEATED });
  fields.push({ name: "at", number: 1000, type: Type.MESSAGE, typeName: ".google.protobuf.Timestamp", label: Label.OPTIONAL });
  // Every proto3 optional field sits in a synthetic oneof of its own.
  const withOneofs = fields.map((f) => {
    const field = f as { name: string; oneofIndex?: number; proto3Optional?: boolean };
    if (field.proto3Optional !== true) return f;
    oneofs.push({ name: `_${field.name}` });
    return { ...f, oneofIndex: oneofs.length - 1 };
  });
  const entry = (name: string, key: Type, value: Type, typeName?: string): object => ({
    name,
    field: [
      { name: "key", number: 1, type: key, label: Label.OPTIONAL },
      { name: "value", number: 2, type: value, label: Label.OPTIONAL, ...(typeName === undefined ? {} : { typeName }) },
    ],
    options: { mapEntry: true },
  });
  const file = create(FileDescriptorProtoSchema, {
    name: "t/all.proto",
    package: "t",
    syntax: "proto3",
    dependency: ["google/protobuf/timestamp.proto"],
    enumType: [{ name: "Color", value: [{ name: "COLOR_UNSPECIFIED", number: 0 }, { name: "COLOR_RED", number: 1 }, { name: "COLOR_NEG", number: -5 }] }],
    messageType: [
      {
        name: "All",
        field: withOneofs,
        oneofDecl: oneofs,
        nestedType: [entry("ByIdEntry", Type.INT64, Type.MESSAGE, ".t.All"), entry("NamesEntry", Type.STRING, Type.SINT32)],
      },
    ] as never,
  });
  const registry = createFileRegistry(file, (name) => (name === "google/protobuf/timestamp.proto" ? TimestampSchema.file : undefined));
  const desc = registry.getMessage("t.All");
  if (desc === undefined) throw new Error("test descriptor did not build");
  return desc;
}

/** A plain copy of a message without `$typeName`: the init shape a service returns. */
function toInit(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toInit);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== "$typeName") out[k] = toInit(v);
  return out;
}

function expectSameBytes(desc: DescMessage, message: Message): void {
  const expected = Buffer.from(toBinary(desc, message)).toString("hex");
  const actual = binaryEncoder(desc)(message).toString("hex");
  if (actual === expected) return;
  // Show where they part, not two long hex strings.
  let at = 0;
  while (actual[at] === expected[at]) at++;
  expect(actual.slice(Math.max(0, at - 20), at + 40)).toBe(expected.slice(Math.max(0, at - 20), at + 40));
  expect(actual).toBe(expected);
}

describe("binary encoder", () => {
  it.each(cacheMessages().map((d) => [d.typeName, d] as const))("encodes %s exactly as toBinary", (_name, desc) => {
    const r = rng(desc.typeName.length * 7919);
    for (let i = 0; i < 200; i++) expectSameBytes(desc, randomMessage(desc, r));
    expectSameBytes(desc, create(desc));
  });

  it("covers every kind of field: scalars, optionals, packed lists, oneofs, maps, enums, nesting", () => {
    const desc = allKinds();
    const r = rng(42);
    for (let i = 0; i < 500; i++) expectSameBytes(desc, randomMessage(desc, r));
  });

  it("writes unknown fields back", () => {
    const desc = allKinds();
    const withUnknown = Buffer.concat([Buffer.from(toBinary(desc, randomMessage(desc, rng(3)))), Buffer.from([0xf8, 0xff, 0x03, 0x2a, 0xfa, 0xff, 0x03, 0x02, 0x68, 0x69])]);
    const message = fromBinary(desc, withUnknown);
    expect(message.$unknown?.length).toBe(2);
    expectSameBytes(desc, message);
  });

  it.each(cacheMessages().map((d) => [d.typeName, d] as const))("encodes %s from its init shape as toBinary encodes the message", (_name, desc) => {
    const r = rng(desc.typeName.length * 104729);
    for (let i = 0; i < 100; i++) {
      const message = randomMessage(desc, r);
      expect(binaryEncoder(desc)(toInit(message) as object).toString("hex")).toBe(Buffer.from(toBinary(desc, message)).toString("hex"));
    }
  });

  it("takes init shapes: an absent field is unset", () => {
    const desc = CacheService.method.get.output;
    const init = { found: true, value: { kind: { case: "json" as const, value: '"v"' } }, metadata: { version: 7n } };
    expect(binaryEncoder(desc)(init).toString("hex")).toBe(Buffer.from(toBinary(desc, create(desc, init))).toString("hex"));
    expect(binaryEncoder(desc)({}).length).toBe(0);
  });

  it("writes a oneof string case given as UTF-8 as those bytes, without reading its value", () => {
    const desc = CacheService.method.get.output;
    const text = '{"name":"日本語 🎉"}';
    const kind = {
      case: "json" as const,
      utf8: Buffer.from(text, "utf8"),
      get value(): string {
        throw new Error("value read");
      },
    };
    const expected = toBinary(desc, create(desc, { found: true, value: { kind: { case: "json", value: text } } }));
    expect(binaryEncoder(desc)({ found: true, value: { kind } }).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
  });

  it("leaves room for a frame prefix", () => {
    const desc = CacheService.method.get.output;
    const message = create(desc, { found: true });
    const framed = binaryEncoder(desc)(message, 5);
    expect(framed.subarray(5).toString("hex")).toBe(Buffer.from(toBinary(desc, message)).toString("hex"));
  });

  it("hands types it does not cover to toBinary", () => {
    const message = create(StructSchema, { fields: { a: { kind: { case: "stringValue", value: "x" } } } });
    expectSameBytes(StructSchema, message);
  });
});
