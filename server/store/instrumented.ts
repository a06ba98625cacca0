import { LarderError } from "../errors.js";
import type { Store } from "./store.js";

/** Where {@link instrumentStore} reports each call. */
export interface StoreCallObserver {
  /**
   * One store call finished.
   * @param store the store's kind ("memory", "redis").
   * @param op the method name ("get", "setMany", "ping", ...).
   * @param seconds the round-trip time.
   * @param errorKind set when the call failed: the LarderError kind
   *   ("unavailable", "failedPrecondition", ...) or "internal" for anything else.
   */
  storeCall(store: string, op: string, seconds: number, errorKind?: string): void;
}

/**
 * Wraps a store so that every call reports its round-trip time and outcome.
 * It is a Proxy rather than a class that lists the methods, so that methods
 * added to {@link Store} later (locks, commands) are timed without touching
 * this file. `close` and non-function members pass through untimed.
 */
export function instrumentStore<S extends Store>(store: S, observer: StoreCallObserver): S {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string" || prop === "close" || prop === "constructor") {
        return value;
      }
      let fn = wrapped.get(prop);
      if (fn === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]): unknown => timed(target, prop, method, args, observer);
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}

function timed(
  target: Store,
  op: string,
  method: (...args: unknown[]) => unknown,
  args: unknown[],
  observer: StoreCallObserver,
): unknown {
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  let result: unknown;
  try {
    result = method.apply(target, args);
  } catch (err) {
    observer.storeCall(target.kind, op, seconds(), kindOf(err));
    throw err;
  }
  // Only promises are backend round trips; a synchronous helper is not one.
  if (!(result instanceof Promise)) return result;
  return result.then(
    (value: unknown) => {
      observer.storeCall(target.kind, op, seconds());
      return value;
    },
    (err: unknown) => {
      observer.storeCall(target.kind, op, seconds(), kindOf(err));
      throw err;
    },
  );
}

function kindOf(err: unknown): string {
  return err instanceof LarderError ? err.kind : "internal";
}
