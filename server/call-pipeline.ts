import { randomUUID } from "node:crypto";
import type { HandlerContext, Interceptor } from "@connectrpc/connect";
import { authorize, callerKey, type Authenticator } from "./auth.js";
import { isExpectedError, toConnectError } from "./errors.js";
import type { Logger } from "./logger.js";

/**
 * The two steps every call passes through before and after the service,
 * whatever the protocol: who is calling (gate), and what error the client
 * may see (interceptor).
 */
export interface CallPipeline {
  /** Resolves the caller and checks its permission before the body is read. */
  readonly requestGate: (ctx: HandlerContext) => void;
  /** Maps every error to a safe wire error and logs the unexpected ones. */
  readonly interceptor: Interceptor;
}

/** Creates the call pipeline of a server. */
export function createCallPipeline(auth: Authenticator, logger: Logger): CallPipeline {
  return {
    requestGate(ctx) {
      try {
        const caller = auth.resolve((name) => ctx.requestHeader.get(name));
        authorize(caller, ctx.method.name);
        ctx.values.set(callerKey, caller);
      } catch (err) {
        throw toConnectError(err);
      }
    },
    interceptor: (next) => async (req) => {
      const started = performance.now();
      try {
        const res = await next(req);
        if (logger.level === "debug") {
          logger.debug("rpc", { rpc: req.method.name, code: "ok", ms: round(performance.now() - started) });
        }
        return res;
      } catch (err) {
        const requestId = randomUUID();
        const wire = toConnectError(err, requestId);
        if (isExpectedError(err)) {
          logger.debug("rpc", { rpc: req.method.name, code: String(wire.code), ms: round(performance.now() - started) });
        } else {
          // The cause goes to the log under the request id the client sees,
          // never to the client.
          logger.error("unexpected error", {
            rpc: req.method.name,
            requestId,
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          });
        }
        throw wire;
      }
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
