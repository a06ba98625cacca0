import type { DescMessage, DescMethod, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { CacheService } from "../gen/larder/v1/cache_pb.js";
import type { CacheServiceHandler, CallContext } from "./cache-service.js";

/** One unary method of `larder.v1.CacheService`, callable without connect-node. */
export interface UnaryMethod {
  readonly desc: DescMethod;
  /** Runs the service method; resolves to the response's init shape. */
  readonly call: (req: MessageShape<DescMessage>, ctx: CallContext) => Promise<MessageInitShape<DescMessage>>;
}

/**
 * The unary methods of the service by gRPC path
 * (`/larder.v1.CacheService/Get`), for transports that route themselves.
 */
export function unaryMethods(service: CacheServiceHandler): ReadonlyMap<string, UnaryMethod> {
  // Every method of the handler takes (request, CallContext), so the
  // table can look them up by the descriptors' local names.
  const impl = service as unknown as Record<
    string,
    ((req: MessageShape<DescMessage>, ctx: CallContext) => Promise<MessageInitShape<DescMessage>>) | undefined
  >;
  const table = new Map<string, UnaryMethod>();
  for (const desc of CacheService.methods) {
    if (desc.methodKind !== "unary") continue;
    const fn = impl[desc.localName];
    if (typeof fn !== "function") continue;
    table.set(`/${CacheService.typeName}/${desc.name}`, { desc, call: fn.bind(service) });
  }
  return table;
}
