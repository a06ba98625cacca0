import { LarderError } from "../core/errors.js";
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
 * The wrapper is built once from the store's methods (own and inherited),
 * so that methods added to {@link Store} later (locks, commands) are timed
 * without touching this file; it is a plain object rather than a Proxy,
 * whose trap on every property read showed in Get profiles. The method is
 * looked up on the store at call time, so stores that swap methods keep
 * working. `close` and non-function members pass through untimed.
 */
export function instrumentStore<S extends Store>(store: S, observer: StoreCallObserver): S {
  const wrapper = Object.create(store) as Record<string, unknown>;
  const target = store as unknown as Record<string, unknown>;
  for (const name of methodNames(store)) {
    wrapper[name] = (...args: unknown[]): unknown => timed(store, name, target[name] as (...a: unknown[]) => unknown, args, observer);
  }
  return wrapper as unknown as S;
}

function methodNames(store: object): Set<string> {
  const names = new Set<string>();
  for (let o: object | null = store; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === "close" || name === "constructor") continue;
      const desc = Object.getOwnPropertyDescriptor(o, name);
      if (desc !== undefined && typeof desc.value === "function") names.add(name);
    }
  }
  return names;
}

function timed(
  target: Store,
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
    observer.storeCall(target.kind, op, (performance.now() - started) / 1000, kindOf(err));
    throw err;
  }
  // Only promises are backend round trips; a synchronous helper is not one.
  if (!(result instanceof Promise)) return result;
  return result.then(
    (value: unknown) => {
      observer.storeCall(target.kind, op, (performance.now() - started) / 1000);
      return value;
    },
    (err: unknown) => {
      observer.storeCall(target.kind, op, (performance.now() - started) / 1000, kindOf(err));
      throw err;
    },
  );
}

function kindOf(err: unknown): string {
  return err instanceof LarderError ? err.kind : "internal";
}
