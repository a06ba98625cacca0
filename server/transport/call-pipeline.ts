import { randomUUID } from "node:crypto";
import type { ConnectError, HandlerContext, Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { authorize, callerKey, type Authenticator, type Caller } from "./auth.js";
import { isExpectedError, toConnectError } from "../core/errors.js";
import { CacheService } from "../gen/larder/v1/cache_pb.js";
import type { Logger } from "../core/logger.js";
import type { LarderMetrics, RpcLabels } from "../core/metrics.js";

/**
 * The two steps every call passes through before and after the service,
 * whatever the protocol: who is calling (gate), and what error the client
 * may see (interceptor). Both also record the call: a metric per call, and a
 * debug log line per call.
 */
export interface CallPipeline {
  /**
   * Resolves the caller and checks its permission before the body is read.
   * Calls to `grpc.*` services (health, reflection) pass without a caller.
   */
  readonly requestGate: (ctx: HandlerContext) => void;
  /** Maps every error to a safe wire error and logs the unexpected ones. */
  readonly interceptor: Interceptor;
  /**
   * The gate's check for transports that route themselves (the gRPC fast
   * path): resolves the caller from request headers and checks that it may
   * call `method`. Throws a LarderError; record it with {@link failed}.
   * @param header reads one request header by lower-case name.
   */
  resolveCaller(method: string, header: (name: string) => string | null): Caller;
  /**
   * Records a unary call that answered `response`, a message or its init
   * shape (hit/miss counts, metrics, debug log).
   */
  succeeded(call: CallRecord, response: object): void;
  /** Records a call whose client went away before the answer. */
  canceled(call: CallRecord): void;
  /** Records a failed call and returns the error the client may see. */
  failed(call: CallRecord, err: unknown): ConnectError;
}

const cacheService = CacheService.typeName;

// gRPC's standard services carry no cache data, and probes and tools
// (kubelet, grpcurl) call them without credentials or a namespace.
const ungated = /^grpc\./;

/** A call being served, as metrics and logs record it. */
export interface CallRecord extends RpcLabels {
  /** `performance.now()` when the call arrived. */
  readonly started: number;
  /** The caller's namespace; undefined when the gate refused the call. */
  readonly namespace: string | undefined;
}

type Call = CallRecord;

/** How a call ended. */
type Outcome = { readonly ok: true; readonly code?: "canceled" } | { readonly ok: false; readonly err: unknown };

/**
 * Creates the call pipeline of a server.
 * @param metrics where calls are counted; default: not counted.
 */
export function createCallPipeline(auth: Authenticator, logger: Logger, metrics?: LarderMetrics): CallPipeline {
  /** Records a finished call; for a failure, returns the error the client may see. */
  function settle(call: Call, outcome: Outcome): ConnectError | undefined {
    const ms = performance.now() - call.started;
    let wire: ConnectError | undefined;
    let requestId: string | undefined;
    if (!outcome.ok) {
      if (isExpectedError(outcome.err)) {
        wire = toConnectError(outcome.err);
      } else {
        // The cause goes to the log under the request id the client sees,
        // never to the client.
        requestId = randomUUID();
        wire = toConnectError(outcome.err, requestId);
        logger.error("unexpected error", {
          rpc: `${call.service}/${call.method}`,
          requestId,
          namespace: call.namespace,
          error: outcome.err instanceof Error ? (outcome.err.stack ?? outcome.err.message) : String(outcome.err),
        });
      }
    }
    const code = wire === undefined ? (outcome.ok ? (outcome.code ?? "ok") : "unknown") : codeToString(wire.code);
    metrics?.rpcHandled(call, code, ms / 1000);
    if (logger.level === "debug") {
      logger.debug("rpc", {
        rpc: `${call.service}/${call.method}`,
        code,
        ms: round(ms),
        requestId: requestId ?? randomUUID(),
        namespace: call.namespace,
        protocol: call.protocol,
      });
    }
    return wire;
  }

  function fail(call: Call, err: unknown): ConnectError {
    return settle(call, { ok: false, err }) ?? toConnectError(err);
  }

  function resolveCaller(method: string, header: (name: string) => string | null): Caller {
    const caller = auth.resolve(header);
    authorize(caller, method);
    return caller;
  }

  function succeeded(call: Call, response: object): void {
    if (call.service === cacheService) metrics?.cacheResult(call.method, response);
    settle(call, { ok: true });
  }

  return {
    resolveCaller,
    succeeded,
    canceled: (call) => void settle(call, { ok: true, code: "canceled" }),
    failed: fail,
    requestGate(ctx) {
      if (ungated.test(ctx.service.typeName)) return;
      const started = performance.now();
      try {
        const caller = resolveCaller(ctx.method.name, (name) => ctx.requestHeader.get(name));
        ctx.values.set(callerKey, caller);
      } catch (err) {
        const protocol = protocolOf(ctx.requestHeader.get("content-type"));
        throw fail({ service: ctx.service.typeName, method: ctx.method.name, protocol, started, namespace: undefined }, err);
      }
    },
    interceptor: (next) => async (req) => {
      const call: Call = {
        service: req.service.typeName,
        method: req.method.name,
        protocol: protocolOf(req.header.get("content-type")),
        started: performance.now(),
        namespace: req.contextValues.get(callerKey)?.namespace,
      };
      let res: Awaited<ReturnType<typeof next>>;
      try {
        res = await next(req);
      } catch (err) {
        throw fail(call, err);
      }
      if (!res.stream) {
        succeeded(call, res.message);
        return res;
      }
      return { ...res, message: observeStream(res.message, call, req.signal, settle, fail) };
    },
  };
}

/**
 * Passes a response stream through, and records the call when the stream
 * ends: with its error, or as canceled when the client went away first
 * (whether or not the handler noticed and returned).
 */
async function* observeStream<T>(
  messages: AsyncIterable<T>,
  call: Call,
  signal: AbortSignal,
  settle: (call: Call, outcome: Outcome) => unknown,
  fail: (call: Call, err: unknown) => ConnectError,
): AsyncGenerator<T> {
  let settled = false;
  try {
    yield* messages;
    settled = true;
    settle(call, signal.aborted ? { ok: true, code: "canceled" } : { ok: true });
  } catch (err) {
    settled = true;
    throw fail(call, err);
  } finally {
    if (!settled) settle(call, { ok: true, code: "canceled" });
  }
}

/** The protocol of a call, from its Content-Type. */
function protocolOf(contentType: string | null): string {
  if (contentType?.startsWith("application/grpc-web") === true) return "grpc-web";
  if (contentType?.startsWith("application/grpc") === true) return "grpc";
  return "connect";
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
