import { LarderError } from "../core/errors.js";
import type { Store } from "./store.js";

/** Where {@link instrumentStore} reports each call. */
export interface StoreCallObserver {
  /**
   * One store call finished.
   * @param store the store's kind ("memory", "redis").
   * @param op the method name ("get", "setMany", "ping", ...), or
   *   "command.<name>" for RunCommand's state ("command.decide", ...).
   * @param seconds the round-trip time.
   * @param errorKind set when the call failed: the LarderError kind
   *   ("unavailable", "failedPrecondition", ...) or "internal" for anything else.
   */
  storeCall(store: string, op: string, seconds: number, errorKind?: string): void;
}

/**
 * Wraps a store so that every call reports its round-trip time and outcome,
 * RunCommand's state calls included (as `command.<method>`). The wrapper is
 * built once from the store's methods (own and inherited), so that methods
 * added to {@link Store} later are timed without touching this file; it is a
 * plain object rather than a Proxy, whose trap on every property read showed
 * in Get profiles. The method is looked up on the store at call time, so
 * stores that swap methods keep working. `close` and other non-function
 * members pass through untimed.
 */
export function instrumentStore<S extends Store>(store: S, observer: StoreCallObserver): S {
  const wrapper = timedMethods(store, store.kind, "", observer) as Record<string, unknown>;
  wrapper.commandState = timedMethods(store.commandState, store.kind, "command.", observer);
  return wrapper as unknown as S;
}

/** An object whose methods are `target`'s, each reporting to `observer` as `<opPrefix><name>`. */
function timedMethods<T extends object>(target: T, kind: string, opPrefix: string, observer: StoreCallObserver): T {
  const wrapper = Object.create(target) as Record<string, unknown>;
  const methods = target as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of methodNames(target)) {
    const op = opPrefix + name;
    wrapper[name] = (...args: unknown[]): unknown => timed(target, kind, op, methods[name] as (...a: unknown[]) => unknown, args, observer);
  }
  return wrapper as unknown as T;
}

function methodNames(target: object): Set<string> {
  const names = new Set<string>();
  for (let o: object | null = target; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === "close" || name === "constructor") continue;
      const desc = Object.getOwnPropertyDescriptor(o, name);
      if (desc !== undefined && typeof desc.value === "function") names.add(name);
    }
  }
  return names;
}

function timed(
  target: object,
  kind: string,
  op: string,
  method: (...args: unknown[]) => unknown,
  args: unknown[],
  observer: StoreCallObserver,
): unknown {
  const started = performance.now();
  let result: unknown;
  try {
    result = method.apply(target, args);
  } catch (err) {
    observer.storeCall(kind, op, (performance.now() - started) / 1000, kindOf(err));
    throw err;
  }
  // Only promises are backend round trips; a synchronous helper is not one.
  if (!(result instanceof Promise)) return result;
  return result.then(
    (value: unknown) => {
      observer.storeCall(kind, op, (performance.now() - started) / 1000);
      return value;
    },
    (err: unknown) => {
      observer.storeCall(kind, op, (performance.now() - started) / 1000, kindOf(err));
      throw err;
    },
  );
}

function kindOf(err: unknown): string {
  return err instanceof LarderError ? err.kind : "internal";
}
