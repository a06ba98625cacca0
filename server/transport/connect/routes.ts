import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { callerKey } from "../auth.js";
import type { AdminService } from "../../gen/larder/v1/admin_pb.js";
import type { CacheService } from "../../gen/larder/v1/cache_pb.js";
import type { AdminServiceHandler } from "../../service/admin-service.js";
import type { CacheServiceHandler, CallContext } from "../../service/cache-service.js";

/**
 * Adapts the transport-agnostic {@link CacheServiceHandler} to connect-node:
 * the caller that the request gate left in the context values becomes the
 * call's namespace.
 */
export function connectCacheService(service: CacheServiceHandler): ServiceImpl<typeof CacheService> {
  return {
    get: (req, ctx) => service.get(req, c(ctx)),
    set: (req, ctx) => service.set(req, c(ctx)),
    has: (req, ctx) => service.has(req, c(ctx)),
    delete: (req, ctx) => service.delete(req, c(ctx)),
    extend: (req, ctx) => service.extend(req, c(ctx)),
    keys: (req, ctx) => service.keys(req, c(ctx)),
    getMany: (req, ctx) => service.getMany(req, c(ctx)),
    setMany: (req, ctx) => service.setMany(req, c(ctx)),
    increment: (req, ctx) => service.increment(req, c(ctx)),
    lock: (req, ctx) => service.lock(req, c(ctx)),
    unlock: (req, ctx) => service.unlock(req, c(ctx)),
    extendLock: (req, ctx) => service.extendLock(req, c(ctx)),
    checkLock: (req, ctx) => service.checkLock(req, c(ctx)),
    listLocks: (req, ctx) => service.listLocks(req, c(ctx)),
    runCommand: (req, ctx) => service.runCommand(req, c(ctx)),
    listCommandEvents: (req, ctx) => service.listCommandEvents(req, c(ctx)),
  };
}

/** Adapts the {@link AdminServiceHandler} to connect-node, as {@link connectCacheService} does. */
export function connectAdminService(service: AdminServiceHandler): ServiceImpl<typeof AdminService> {
  return {
    listNamespaces: (req, ctx) => service.listNamespaces(req, c(ctx)),
    getStats: (req, ctx) => service.getStats(req, c(ctx)),
    listCommandStates: (req, ctx) => service.listCommandStates(req, c(ctx)),
  };
}

function c(ctx: HandlerContext): CallContext {
  return { namespace: namespaceOf(ctx), signal: ctx.signal, timeoutMs: () => ctx.timeoutMs() };
}

function namespaceOf(ctx: HandlerContext): string {
  const caller = ctx.values.get(callerKey);
  if (caller === undefined) {
    // Only reachable when the service is mounted without the request gate,
    // which is a wiring bug, not a client error.
    throw new Error("no caller in context: mount the CacheService with the Larder request gate");
  }
  return caller.namespace;
}
