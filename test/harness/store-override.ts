import type { Store } from "../../server/index.js";

/**
 * A store that behaves like `store` except for the methods given, e.g. a
 * slow or failing `get`. Every other method runs on the real store, so the
 * store's own state and private members keep working.
 */
export function overrideStore(store: Store, overrides: Partial<Store>): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (Object.hasOwn(overrides, prop)) return (overrides as Record<PropertyKey, unknown>)[prop];
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
