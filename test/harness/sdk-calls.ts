/** Helpers of the @larder/sdk suites: counting RPCs, injecting outages, asserting errors. */
import { expect } from "vitest";
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { Code, LarderError } from "../../sdk/ts/src/index.js";

/** Counts RPCs by method name, e.g. `calls.get("Get")`. */
export function counter(): { calls: Map<string, number>; interceptor: Interceptor; total(): number } {
  const calls = new Map<string, number>();
  return {
    calls,
    interceptor: (next) => (req) => {
      calls.set(req.method.name, (calls.get(req.method.name) ?? 0) + 1);
      return next(req);
    },
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
  };
}

/** Fails the first `n` attempts with UNAVAILABLE before they leave the process. */
export function failFirst(n: number): Interceptor {
  let left = n;
  return (next) => (req) => {
    if (left > 0) {
      left--;
      throw new ConnectError("injected outage", Code.Unavailable);
    }
    return next(req);
  };
}

/** Asserts that a promise rejects with a LarderError of a code, and returns it. */
export async function expectLarderError(call: Promise<unknown>, code: Code, message?: RegExp): Promise<LarderError> {
  const err: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call should have failed").toBeInstanceOf(LarderError);
  const le = err as LarderError;
  expect(le.codeName).toBe(Code[code].replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase());
  expect(le.code).toBe(code);
  if (message !== undefined) expect(le.message).toMatch(message);
  return le;
}
