#!/usr/bin/env node
// The TypeScript side of the cross-language tests (the C# suite runs it):
// one cache operation through @larder/sdk, so that what one SDK writes is
// proven readable by another through the real server, not through a shared
// test helper.
//
//   node test/interop/ts-cache.mjs set    <url> <namespace> <key> <json> [ttlSeconds]
//   node test/interop/ts-cache.mjs set-bytes <url> <namespace> <key> <base64>
//   node test/interop/ts-cache.mjs get    <url> <namespace> <key>
//   node test/interop/ts-cache.mjs expect <url> <namespace> <key> <json>
//
// get prints the value as JSON (a Uint8Array as {"$bytes": "<base64>"}, a
// miss as null). expect exits 1, with a diff, unless the stored value
// deep-equals the given JSON.
import { deepStrictEqual } from "node:assert/strict";
import { createCache } from "@larder/sdk";

const [command, url, namespace, key, arg, ttl] = process.argv.slice(2);
if (command === undefined || url === undefined || namespace === undefined || key === undefined) {
  process.stderr.write("usage: ts-cache.mjs set|set-bytes|get|expect <url> <namespace> <key> [json|base64] [ttlSeconds]\n");
  process.exit(2);
}

const cache = createCache({ url, namespace });
try {
  switch (command) {
    case "set":
      await cache.set(key, JSON.parse(arg), ttl === undefined ? undefined : Number(ttl));
      break;
    case "set-bytes":
      await cache.set(key, new Uint8Array(Buffer.from(arg, "base64")));
      break;
    case "get": {
      const value = await cache.get(key);
      const printable = value instanceof Uint8Array ? { $bytes: Buffer.from(value).toString("base64") } : value;
      process.stdout.write(`${JSON.stringify(printable)}\n`);
      break;
    }
    case "expect":
      deepStrictEqual(await cache.get(key), JSON.parse(arg));
      break;
    default:
      process.stderr.write(`unknown command ${command}\n`);
      process.exitCode = 2;
  }
} finally {
  await cache.close();
}
