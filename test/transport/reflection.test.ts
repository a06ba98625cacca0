import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as v1 from "../../server/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../server/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { createMemoryStore, hashApiKey, type LarderServer } from "../../server/index.js";
import { cacheClient, freshNamespace, startLarder } from "../harness/larder.js";
import { expectCode } from "../harness/fixture.js";

const buf = resolve("node_modules/.bin/buf");

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the project's own `buf` binary, as a developer at a terminal would. */
function bufCurl(args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const proc = spawn(buf, ["curl", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    proc.once("error", fail);
    proc.once("close", (code) => done({ code, stdout, stderr }));
  });
}

const grpcFlags = ["--protocol", "grpc", "--http2-prior-knowledge"];

let server: LarderServer;
beforeAll(async () => {
  server = await startLarder(createMemoryStore());
});
afterAll(async () => {
  await server.close();
});

describe("reflection: buf curl without proto files", () => {
  it("lists services", async () => {
    const run = await bufCurl([...grpcFlags, server.url, "--list-services"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "larder.v1.AdminService",
      "larder.v1.CacheService",
    ]);
    // A stream that the client half-closes counts as ok, not canceled.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^larder_rpc_requests_total\{service="grpc\.reflection\.v1\.ServerReflection",method="ServerReflectionInfo",protocol="grpc",code="ok"\} [1-9]/m);
  });

  it("lists every method of the cache service", async () => {
    const run = await bufCurl([...grpcFlags, server.url, "--list-methods"]);
    expect(run.code).toBe(0);
    const methods = run.stdout.trim().split("\n");
    for (const m of CacheService.methods) expect(methods).toContain(`larder.v1.CacheService/${m.name}`);
    expect(methods).toContain("grpc.health.v1.Health/Watch");
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("sets and gets with --reflect-protocol %s", async (reflectProtocol) => {
    const ns = ["-H", `larder-namespace: ${freshNamespace()}`];
    const flags = [...grpcFlags, "--reflect-protocol", reflectProtocol, ...ns];
    const set = await bufCurl([...flags, "-d", '{"key":"greeting","value":{"json":"\\"Hello!\\""},"ttlMs":"60000"}', `${server.url}/larder.v1.CacheService/Set`]);
    expect(set.stderr).toBe("");
    expect(JSON.parse(set.stdout)).toMatchObject({ applied: true, created: true, version: "1" });
    const get = await bufCurl([...flags, "-d", '{"key":"greeting"}', `${server.url}/larder.v1.CacheService/Get`]);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ found: true, value: { json: '"Hello!"' } });
  });

  it("needs no API key, while the cache itself does", async () => {
    const key = "reflection-test-key";
    const authed = await startLarder(createMemoryStore(), {
      apiKeys: [{ sha256: hashApiKey(key), namespace: "app" }],
    });
    try {
      const list = await bufCurl([...grpcFlags, authed.url, "--list-services"]);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain("larder.v1.CacheService");
      const call = await bufCurl([...grpcFlags, "-d", '{"key":"k"}', `${authed.url}/larder.v1.CacheService/Get`]);
      expect(call.code).not.toBe(0);
      expect(call.stderr).toMatch(/unauthenticated/);
      await expectCode(cacheClient(authed.url, { namespace: "" }).get({ key: "k" }), Code.Unauthenticated);
      const ok = await bufCurl([...grpcFlags, "-H", `authorization: Bearer ${key}`, "-d", '{"key":"k"}', `${authed.url}/larder.v1.CacheService/Get`]);
      expect(ok.code).toBe(0);
    } finally {
      await authed.close();
    }
  });
});

type Request = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;

/** Sends requests on one reflection stream and collects the answers. */
async function reflect(transport: Transport, requests: Request[]): Promise<v1.ServerReflectionResponse[]> {
  const client = createClient(v1.ServerReflection, transport);
  async function* send() {
    for (const r of requests) yield create(v1.ServerReflectionRequestSchema, r);
  }
  const out: v1.ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(send())) out.push(res);
  return out;
}

function fileNames(res: v1.ServerReflectionResponse | undefined): string[] {
  if (res?.messageResponse.case !== "fileDescriptorResponse") throw new Error(`not files: ${res?.messageResponse.case}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

function errorOf(res: v1.ServerReflectionResponse | undefined): { errorCode: number; errorMessage: string } {
  if (res?.messageResponse.case !== "errorResponse") throw new Error(`not an error: ${res?.messageResponse.case}`);
  return res.messageResponse.value;
}

const symbol = (name: string): Request => ({ messageRequest: { case: "fileContainingSymbol", value: name } });

const transports: [string, () => Transport][] = [
  ["grpc", () => createGrpcTransport({ baseUrl: server.url })],
  ["connect over HTTP/2", () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" })],
  ["grpc-web over HTTP/2", () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2" })],
];

describe.each(transports)("reflection v1 over %s", (_name, transport) => {
  it("answers NOT_FOUND for an unknown symbol, and keeps the stream open", async () => {
    const [missing, list] = await reflect(transport(), [
      symbol("larder.v1.NoSuchThing"),
      { messageRequest: { case: "listServices", value: "" } },
    ]);
    expect(errorOf(missing)).toEqual(expect.objectContaining({ errorCode: Code.NotFound, errorMessage: expect.stringMatching(/NoSuchThing/) as unknown }));
    expect(list?.messageResponse.case).toBe("listServicesResponse");
  });

  it("sends a file with its transitive dependencies, each only once per stream", async () => {
    const [first, second] = await reflect(transport(), [
      symbol("larder.v1.CacheService.Get"),
      { messageRequest: { case: "fileByFilename", value: "larder/v1/value.proto" } },
    ]);
    const names = fileNames(first);
    expect(names[0]).toBe("larder/v1/cache.proto");
    expect(new Set(names)).toEqual(
      new Set(["larder/v1/cache.proto", "larder/v1/value.proto", "larder/v1/lock.proto", "larder/v1/command.proto", "google/protobuf/timestamp.proto"]),
    );
    expect(names.length).toBe(new Set(names).size);
    // value.proto and timestamp.proto went out already; only the file asked for comes again.
    expect(fileNames(second)).toEqual(["larder/v1/value.proto"]);
  });

  it("returns descriptors complete enough to rebuild the schema", async () => {
    const [res] = await reflect(transport(), [symbol("larder.v1.CacheService")]);
    const files = fileNames(res).length;
    expect(files).toBeGreaterThan(1);
    if (res?.messageResponse.case !== "fileDescriptorResponse") throw new Error("no files");
    const protos = res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    // The requested file comes first, as grpc-go sends it; a FileDescriptorSet
    // wants dependencies first.
    const byName = new Map(protos.map((p) => [p.name, p]));
    const ordered: typeof protos = [];
    const visit = (name: string): void => {
      const p = byName.get(name);
      if (p === undefined || ordered.includes(p)) return;
      p.dependency.forEach(visit);
      ordered.push(p);
    };
    protos.forEach((p) => visit(p.name));
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
    const service = registry.getService("larder.v1.CacheService");
    expect(service?.methods.map((m) => m.name)).toEqual(CacheService.methods.map((m) => m.name));
    expect(registry.getMessage("larder.v1.GetResponse")?.field.metadata?.message?.typeName).toBe("larder.v1.EntryMetadata");
  });

  it("finds every kind of symbol", async () => {
    const cases: [string, string][] = [
      ["larder.v1.CacheService", "larder/v1/cache.proto"],
      ["larder.v1.AdminService.GetStats", "larder/v1/admin.proto"],
      ["larder.v1.CacheService.Increment", "larder/v1/cache.proto"],
      ["larder.v1.SetRequest", "larder/v1/cache.proto"],
      ["larder.v1.SetRequest.key", "larder/v1/cache.proto"],
      ["larder.v1.SetRequest.expiry", "larder/v1/cache.proto"],
      ["larder.v1.SetMode", "larder/v1/cache.proto"],
      ["larder.v1.SET_MODE_IF_ABSENT", "larder/v1/cache.proto"],
      ["larder.v1.Value", "larder/v1/value.proto"],
      ["google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
      ["grpc.health.v1.Health.Watch", "grpc/health/v1/health.proto"],
      ["grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
      ["grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
      ["grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto"],
    ];
    const answers = await reflect(transport(), cases.map(([name]) => symbol(name)));
    expect(answers.map((a) => fileNames(a)[0])).toEqual(cases.map(([, file]) => file));
  });

  it("answers the extension requests: none are defined", async () => {
    const [numbers, unknownType, extension] = await reflect(transport(), [
      { messageRequest: { case: "allExtensionNumbersOfType", value: "larder.v1.GetRequest" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "larder.v1.Nope" } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "larder.v1.GetRequest", extensionNumber: 100 } } },
    ]);
    expect(numbers?.messageResponse).toEqual({
      case: "allExtensionNumbersResponse",
      value: expect.objectContaining({ baseTypeName: "larder.v1.GetRequest", extensionNumber: [] }) as unknown,
    });
    expect(errorOf(unknownType).errorCode).toBe(Code.NotFound);
    expect(errorOf(extension).errorCode).toBe(Code.NotFound);
  });

  it("answers NOT_FOUND for an unknown file, and echoes the request", async () => {
    const [res] = await reflect(transport(), [{ host: "h", messageRequest: { case: "fileByFilename", value: "nope.proto" } }]);
    expect(errorOf(res).errorCode).toBe(Code.NotFound);
    expect(res?.validHost).toBe("h");
    expect(res?.originalRequest?.messageRequest).toEqual({ case: "fileByFilename", value: "nope.proto" });
  });
});

describe("reflection v1alpha", () => {
  it("lists services and resolves symbols like v1", async () => {
    const client = createClient(v1alpha.ServerReflection, createGrpcTransport({ baseUrl: server.url }));
    async function* send() {
      yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "*" } });
      yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "fileContainingSymbol", value: "larder.v1.Nope" } });
    }
    const out: v1alpha.ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(send())) out.push(res);
    const [list, missing] = out;
    if (list?.messageResponse.case !== "listServicesResponse") throw new Error("no list");
    expect(list.messageResponse.value.service.map((s) => s.name)).toContain("larder.v1.CacheService");
    expect(missing?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
  });
});
