/**
 * Paging over a namespace's Redis keys for Keys and ListLocks: the MATCH
 * pattern and cursor format, and the bounded SCAN loop that defines them.
 */

import { LarderError } from "../../core/errors.js";
import { classEnd, escapeGlob } from "../glob.js";
import type { Redis } from "ioredis";
import type { Masters } from "./topology.js";
import type { Reply, ScriptDefinition } from "./script.js";

const uint64Max = 2n ** 64n - 1n;
/** Beyond this many wildcards, MATCH gets only the namespace prefix: Redis' matcher backtracks. */
const maxMatchWildcards = 16;
const cursorFormat = /^(0|[1-9][0-9]{0,19})(?::(0|[1-9][0-9]{0,19}):([0-9a-f]{40}))?$/;

/**
 * A Redis MATCH pattern that matches at least every key the glob matches by
 * code point: `?` and classes become `*` (Redis would match one byte, not
 * one character) and literals are escaped. Tokenizes exactly like
 * `globToRegExp`, so the two agree on what is literal.
 */
export function matchSuperset(pattern: string): string {
  const chars = Array.from(pattern);
  let out = "";
  let wildcards = 0;
  let afterWildcard = false;
  // Runs of wildcards collapse into one `*`; literals reset the run.
  const wildcard = (): void => {
    if (!afterWildcard) {
      out += "*";
      wildcards++;
    }
    afterWildcard = true;
  };
  const literal = (c: string): void => {
    out += escapeGlob(c);
    afterWildcard = false;
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === "*" || c === "?") {
      wildcard();
    } else if (c === "\\") {
      const next = chars[i + 1];
      literal(next ?? "\\");
      if (next !== undefined) i++;
    } else if (c === "[") {
      const end = classEnd(chars, i + 1);
      if (end < 0) {
        literal("[");
      } else {
        wildcard();
        i = end;
      }
    } else {
      literal(c);
    }
  }
  return wildcards > maxMatchWildcards ? "*" : out;
}

/** SCAN elements one Keys or ListLocks call may look at, so a page never blocks Redis for long. */
const scanBudget = 10_000;

/**
 * The arguments of a paging script (Keys, ListLocks) for one page of the
 * names under `prefix` that match the glob `pattern`.
 */
export function scanPageArgs(prefix: string, pattern: string, cursor: string, limit: number): string[] {
  const [redisCursor, rangeEnd, after] = parseKeysCursor(cursor);
  const page = Math.max(1, Math.floor(limit));
  // A batch of a quarter page keeps the walk of an overflowing batch short.
  const count = Math.max(16, Math.ceil(page / 4));
  const budget = Math.ceil(scanBudget / count);
  const match = escapeGlob(prefix) + matchSuperset(pattern);
  return [match, redisCursor, rangeEnd, after, String(page), String(count), String(budget)];
}

/**
 * Splits an opaque Keys cursor into a SCAN cursor and, inside a split SCAN
 * range, that range's end and the hash of the last key returned.
 */
export function parseKeysCursor(cursor: string): [string, string, string] {
  if (cursor === "") return ["0", "", ""];
  const m = cursorFormat.exec(cursor);
  const scan = m?.[1];
  const end = m?.[2];
  if (m === null || scan === undefined || BigInt(scan) > uint64Max || (end !== undefined && BigInt(end) > uint64Max)) {
    throw new LarderError("invalidArgument", "cursor: malformed; pass the next_cursor of the previous page");
  }
  return [scan, end ?? "", m[3] ?? ""];
}

/**
 * The paging loop of Keys and ListLocks over one node, as a Lua function
 * `scan_page()`. No KEYS: the store runs it on each node itself. ARGV: MATCH pattern, redis cursor, resume next cursor or "", resume
 * hash or "", limit, SCAN COUNT, most SCAN calls. Returns [next cursor, keys].
 *
 * The SCAN loop is bounded so that a huge keyspace never blocks Redis; a
 * short page with a cursor is a valid answer. A page ends on a SCAN range
 * boundary whenever it can, so the next page starts from a plain cursor: a
 * batch that overflows the page is walked again with COUNT 1 (the keyspace
 * cannot change inside the script) and the page stops before the range
 * that does not fit. Only when one such small range alone holds more keys
 * than the page are its keys split, in SHA-1 order, and the cursor becomes
 * `<cursor>:<range end>:<last hash>`. The next page rescans that range and
 * skips hashes up to the last one, but only if the range still ends at the
 * same cursor: otherwise keys deleted or added meanwhile changed what the
 * range covers, and it is returned whole (duplicates, never losses).
 */
export const scanPage = `
local function scan_page()
local match, cursor, resumeEnd, after = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit, count, budget = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local out = {}
local function scan(c, n)
  local r = redis.call('SCAN', c, 'MATCH', match, 'COUNT', n)
  return r[1], r[2]
end
local function append(batch)
  for _, k in ipairs(batch) do out[#out + 1] = k end
end
-- Only called on an empty page, with more keys than the page holds.
local function split(c, rangeEnd, batch)
  local tagged = {}
  for _, k in ipairs(batch) do tagged[#tagged + 1] = {redis.sha1hex(k), k} end
  table.sort(tagged, function(a, b) return a[1] < b[1] end)
  for i = 1, limit do out[#out + 1] = tagged[i][2] end
  return {c .. ':' .. rangeEnd .. ':' .. tagged[limit][1], out}
end
if after ~= '' then
  local nextc, batch = scan(cursor, 1)
  if nextc == resumeEnd then
    local rest = {}
    for _, k in ipairs(batch) do
      if redis.sha1hex(k) > after then rest[#rest + 1] = k end
    end
    batch = rest
  end
  if #batch > limit then return split(cursor, nextc, batch) end
  append(batch)
  cursor = nextc
  if cursor == '0' then return {'', out} end
end
for _ = 1, budget do
  local nextc, batch = scan(cursor, count)
  if #out + #batch > limit then
    -- At least one step: when the whole keyspace fits one batch, the batch
    -- ends where it began (cursor 0 to 0), and a while loop would skip it.
    local c = cursor
    repeat
      local n1, b1 = scan(c, 1)
      if #out + #b1 > limit then
        if #out > 0 then return {c, out} end
        return split(c, n1, b1)
      end
      append(b1)
      c = n1
      if c == '0' then return {'', out} end
    until c == nextc
  else
    append(batch)
  end
  cursor = nextc
  if cursor == '0' then return {'', out} end
  if #out >= limit then break end
end
return {cursor, out}
end
`;

/** The Keys script; see {@link scanPage}. Returns [next cursor, keys]. */
export const keysScript: ScriptDefinition = {
  numberOfKeys: 0,
  readOnly: true,
  lua: `${scanPage}
return scan_page()
`,
};

/** One node's page: the node's next cursor ("" when done) and what the script found. */
export interface NodePage {
  readonly next: string;
  readonly found: Reply[];
  /** How many names `found` holds (a lock takes several elements). */
  readonly count: number;
}

const clusterCursor = /^([0-9a-f]{12})\.(0|[1-9][0-9]{0,3})\.(.*)$/s;

/**
 * One page of a scan over every master: `page` scans one node from its own
 * cursor, for at most `limit` names. Outside a Cluster the cursor is the
 * node's. In a Cluster it is `<slot map fingerprint>.<master>.<node cursor>`,
 * the masters taken in turn, and a page goes on to the next master while it
 * has room; a cursor from another slot map (a slot moved, a failover) starts
 * over from the first master, so a key that exists during the whole listing
 * is still returned at least once.
 */
export async function scanMasters(
  masters: Masters,
  cursor: string,
  limit: number,
  page: (node: Redis, cursor: string, limit: number) => Promise<NodePage>,
): Promise<NodePage> {
  const { nodes, fingerprint } = masters;
  const only = nodes[0];
  if (only === undefined) throw new LarderError("unavailable", "backend unavailable: no redis master known");
  if (fingerprint === "") return page(only, cursor, limit);
  let index = 0;
  let inner = "";
  if (cursor !== "") {
    const m = clusterCursor.exec(cursor);
    if (m === null) throw new LarderError("invalidArgument", "cursor: malformed; pass the next_cursor of the previous page");
    if (m[1] === fingerprint && Number(m[2]) < nodes.length) {
      index = Number(m[2]);
      inner = m[3] ?? "";
    }
  }
  const found: Reply[] = [];
  let count = 0;
  for (;;) {
    const out = await page(nodes[index] as Redis, inner, limit - count);
    found.push(...out.found);
    count += out.count;
    if (out.next !== "") return { next: `${fingerprint}.${index}.${out.next}`, found, count };
    index++;
    inner = "";
    if (index >= nodes.length) return { next: "", found, count };
    if (count >= limit) return { next: `${fingerprint}.${index}.`, found, count };
  }
}
