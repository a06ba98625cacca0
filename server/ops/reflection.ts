import {
  create,
  fromBinary,
  toBinary,
  type DescFile,
  type DescMessage,
  type DescService,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** Options of {@link createReflection}. */
export interface ReflectionOptions {
  /**
   * The services the server serves. The two reflection services are added
   * by {@link Reflection.register} and need not be listed. Required.
   */
  services: readonly DescService[];
}

/**
 * gRPC server reflection (`grpc.reflection.v1` and `grpc.reflection.v1alpha`),
 * built from the descriptors that protoc-gen-es embeds in generated code, so
 * that grpcurl and `buf curl` work without proto files.
 */
export interface Reflection {
  /** Fully-qualified names of every service listed, reflection included. */
  readonly serviceNames: readonly string[];
  /**
   * Answers one request of a stream.
   * @param sent names of the files already sent on this stream; updated.
   */
  answer(req: v1.ServerReflectionRequest, sent: Set<string>): v1.ServerReflectionResponse;
  /** Mounts both reflection services on a router. */
  register(router: ConnectRouter): void;
}

/** Creates the reflection services for a set of services. */
export function createReflection(options: ReflectionOptions): Reflection {
  const services = [...options.services, v1.ServerReflection, v1alpha.ServerReflection];
  const index = buildIndex(services);
  const serviceNames = services.map((s) => s.typeName);

  const answer = (req: v1.ServerReflectionRequest, sent: Set<string>): v1.ServerReflectionResponse => {
    const respond = (messageResponse: NonNullable<ResponseInit["messageResponse"]>): v1.ServerReflectionResponse =>
      create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse });
    const files = (file: DescFile | undefined, what: string): v1.ServerReflectionResponse =>
      file === undefined
        ? respond({ case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } })
        : respond({ case: "fileDescriptorResponse", value: { fileDescriptorProto: index.withDependencies(file, sent) } });

    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return respond({ case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } });
      case "fileByFilename":
        return files(index.files.get(r.value), `file "${r.value}"`);
      case "fileContainingSymbol":
        return files(index.symbols.get(r.value.replace(/^\./, "")), `symbol "${r.value}"`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = r.value;
        const file = index.extensions.get(containingType.replace(/^\./, ""))?.get(extensionNumber);
        return files(file, `extension ${extensionNumber} of "${containingType}"`);
      }
      case "allExtensionNumbersOfType": {
        const type = r.value.replace(/^\./, "");
        if (!index.messages.has(type) && !index.extensions.has(type)) return files(undefined, `type "${r.value}"`);
        const numbers = [...(index.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
        return respond({ case: "allExtensionNumbersResponse", value: { baseTypeName: type, extensionNumber: numbers } });
      }
      default:
        return respond({
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "message_request: no request set" },
        });
    }
  };

  return {
    serviceNames,
    answer,
    register(router) {
      router.service(v1.ServerReflection, {
        async *serverReflectionInfo(requests) {
          const sent = new Set<string>();
          for await (const req of requests) yield answer(req, sent);
        },
      });
      // v1alpha is v1 under another package, field for field, so its
      // messages convert through the wire format.
      router.service(v1alpha.ServerReflection, {
        async *serverReflectionInfo(requests) {
          const sent = new Set<string>();
          for await (const req of requests) {
            const res = answer(fromBinary(v1.ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, req)), sent);
            yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(v1.ServerReflectionResponseSchema, res));
          }
        },
      });
    },
  };
}

type ResponseInit = MessageInitShape<typeof v1.ServerReflectionResponseSchema>;

/** Lookup tables over every file that the services need, dependencies included. */
interface Index {
  /** By file name, e.g. `larder/v1/cache.proto`. */
  readonly files: ReadonlyMap<string, DescFile>;
  /** By fully-qualified symbol: services, methods, messages, fields, oneofs, enums, enum values, extensions. */
  readonly symbols: ReadonlyMap<string, DescFile>;
  /** Message type names. */
  readonly messages: ReadonlySet<string>;
  /** Extendee type name, then extension number. */
  readonly extensions: ReadonlyMap<string, ReadonlyMap<number, DescFile>>;
  /**
   * The serialized FileDescriptorProtos of a file and of its transitive
   * dependencies, breadth first. The file itself is always included;
   * dependencies already sent on the stream are left out, as the protocol
   * allows and grpc-go does.
   */
  withDependencies(file: DescFile, sent: Set<string>): Uint8Array[];
}

function buildIndex(services: readonly DescService[]): Index {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const messages = new Set<string>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const encoded = new Map<string, Uint8Array>();

  const addExtension = (file: DescFile, ext: { typeName: string; extendee: DescMessage; number: number }): void => {
    symbols.set(ext.typeName, file);
    let byNumber = extensions.get(ext.extendee.typeName);
    if (byNumber === undefined) extensions.set(ext.extendee.typeName, (byNumber = new Map()));
    byNumber.set(ext.number, file);
  };
  const addEnum = (file: DescFile, e: DescFile["enums"][number]): void => {
    symbols.set(e.typeName, file);
    // Enum values are scoped like C++ enumerators: siblings of their enum.
    const scope = e.parent?.typeName ?? file.proto.package;
    for (const value of e.values) symbols.set(scope === "" ? value.name : `${scope}.${value.name}`, file);
  };
  const addMessage = (file: DescFile, m: DescMessage): void => {
    symbols.set(m.typeName, file);
    messages.add(m.typeName);
    for (const f of m.fields) symbols.set(`${m.typeName}.${f.name}`, file);
    for (const o of m.oneofs) symbols.set(`${m.typeName}.${o.name}`, file);
    for (const nested of m.nestedMessages) addMessage(file, nested);
    for (const e of m.nestedEnums) addEnum(file, e);
    for (const ext of m.nestedExtensions) addExtension(file, ext);
  };
  const addFile = (file: DescFile): void => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    encoded.set(file.proto.name, toBinary(FileDescriptorProtoSchema, file.proto));
    for (const s of file.services) {
      symbols.set(s.typeName, file);
      for (const m of s.methods) symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const m of file.messages) addMessage(file, m);
    for (const e of file.enums) addEnum(file, e);
    for (const ext of file.extensions) addExtension(file, ext);
    for (const dep of file.dependencies) addFile(dep);
  };
  for (const s of services) addFile(s.file);

  return {
    files,
    symbols,
    messages,
    extensions,
    withDependencies(file, sent) {
      const out: Uint8Array[] = [];
      const queue = [file];
      for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
        const name = current.proto.name;
        if (out.length === 0 || !sent.has(name)) {
          sent.add(name);
          const bytes = encoded.get(name);
          if (bytes !== undefined) out.push(bytes);
          queue.push(...current.dependencies);
        }
      }
      return out;
    },
  };
}
