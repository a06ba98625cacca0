import type { IncomingHttpHeaders } from "node:http";

/**
 * Node's response headers (HTTP/1.1 or HTTP/2) as web `Headers`, which the
 * Connect `Transport` interface hands to callers; HTTP/2 pseudo-headers are
 * left out. Built only when a caller reads them.
 */
export function webHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else out.set(k, String(v));
  }
  return out;
}
