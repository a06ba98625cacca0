/**
 * The dashboard's namespace list for the Redis store: a bounded SCAN over
 * the store's keys on every master, reading namespace names back out of the
 * key layout of keys.ts. Nothing is kept per namespace on the write path, so
 * this costs nothing until someone looks.
 */

import type { Redis } from "ioredis";
import { escapeGlob } from "../glob.js";
import type { NamespaceSample } from "../store.js";

/** Keys asked for per SCAN call (a hint to Redis: the slots it visits). */
const scanCount = 1000;
const colon = 0x3a;
const open = 0x7b;
const close = 0x7d;

/**
 * Counts entry keys per namespace on `nodes`, visiting at most about
 * `maxScan` keys in all. When the scan stops early, counts are scaled by
 * how much of each node's keyspace was visited.
 */
export async function scanNamespaces(nodes: readonly Redis[], prefix: string, maxScan: number): Promise<NamespaceSample> {
  const counts = new Map<string, number>();
  const head = Buffer.from(`${prefix}:`);
  const match = `${escapeGlob(prefix)}:*`;
  const perNode = Math.max(1, Math.ceil(maxScan / Math.max(1, nodes.length) / scanCount));
  let approximate = false;
  for (const node of nodes) {
    const seen = new Map<string, number>();
    let cursor = "0";
    let calls = 0;
    do {
      const [next, keys] = await node.scanBuffer(cursor, "MATCH", match, "COUNT", scanCount);
      cursor = next.toString();
      calls++;
      for (const key of keys) {
        const ns = namespaceOfEntry(key, head);
        if (ns !== undefined) seen.set(ns, (seen.get(ns) ?? 0) + 1);
      }
    } while (cursor !== "0" && calls < perNode);
    let factor = 1;
    if (cursor !== "0") {
      approximate = true;
      const size = await node.dbsize();
      factor = Math.max(1, size / (calls * scanCount));
    }
    for (const [ns, n] of seen) counts.set(ns, (counts.get(ns) ?? 0) + Math.round(n * factor));
  }
  return { counts, approximate };
}

/**
 * The namespace of an entry key (`<prefix>:{}:<len>:<ns>:e:…` spread, or
 * `<prefix>:{<len>:<ns>}:e:…` pinned); undefined for any other key (locks,
 * RunCommand state, another prefix's keys).
 */
export function namespaceOfEntry(key: Buffer, head: Buffer): string | undefined {
  if (key.length <= head.length || !key.subarray(0, head.length).equals(head)) return undefined;
  let i = head.length;
  if (key[i] !== open) return undefined;
  const spread = key[i + 1] === close;
  i += spread ? 3 : 1; // past "{}:" or "{"
  if (spread && key[i - 1] !== colon) return undefined;
  let len = 0;
  const digits = i;
  while (i < key.length && key[i] !== colon) {
    const d = (key[i] as number) - 0x30;
    if (d < 0 || d > 9 || i - digits > 6) return undefined;
    len = len * 10 + d;
    i++;
  }
  if (i === digits || i >= key.length) return undefined;
  const start = i + 1;
  const end = start + len;
  const tail = spread ? ":e:" : "}:e:";
  if (key.length < end + tail.length || key.subarray(end, end + tail.length).toString("latin1") !== tail) return undefined;
  return key.subarray(start, end).toString("utf8");
}
