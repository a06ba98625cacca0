/**
 * The Lua scripts of the Redis store: one script per Store method, so that
 * every method is one round trip and every write is atomic.
 *
 * An entry is a hash: `v` value, `t` kind (`j` JSON text, `b` bytes), `c`
 * created, `u` updated, `x` expires (absent when never), `r` last read
 * (absent until read), `n` version; all times in ms since the epoch. The key
 * itself carries PEXPIREAT `x`, so Redis does the expiring.
 *
 * The Keys script's arguments (its MATCH pattern and cursor format) are
 * encoded here too, next to the script that defines their meaning.
 */

import { LarderError } from "../errors.js";
import { escapeGlob } from "./glob.js";

/** One script, as ioredis' `defineCommand` takes it. */
export interface ScriptDefinition {
  /** The Lua source; ioredis runs it by EVALSHA, falling back to EVAL once. */
  readonly lua: string;
  /** Omitted when the caller passes the key count first (variadic scripts). */
  readonly numberOfKeys?: number;
  /** Whether the script never writes. */
  readonly readOnly?: boolean;
}

// Time comes from Redis so that every Larder instance agrees. Numbers are
// formatted with %.0f because Lua's default conversion of a 13-digit double
// can produce exponent notation, which neither HSET readers nor PEXPIREAT
// accept.
const prelude = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fmt(n) return string.format('%.0f', n) end
local function num(s)
  if s and s ~= '' then return tonumber(s) end
  return false
end
`;

// Shared by get and getMany: a hit records the read time (and, with touch,
// a new expiry) before answering, so the answer shows the state after it.
const readEntry = `
local function read(k, now, touch)
  local f = redis.call('HMGET', k, 'v', 't', 'c', 'u', 'x', 'r', 'n')
  if not f[1] then return false end
  local sn = fmt(now)
  local x = f[5]
  if touch then
    x = fmt(now + touch)
    redis.call('HSET', k, 'r', sn, 'x', x)
    redis.call('PEXPIREAT', k, x)
  else
    redis.call('HSET', k, 'r', sn)
  end
  return {f[1], f[2], f[3], f[4], x or '', sn, f[7]}
end
`;

// Shared by set and setMany. The version comes from the namespace sequence,
// which never expires and is never reset, so a deleted and recreated key
// never gets an old version back (no ABA for compare-and-set). `r` and, on
// overwrite, `c` are left as they are.
const writeEntry = `
local function write(seq, k, v, kind, ttl, now, exists)
  local n = redis.call('INCR', seq)
  local sn = fmt(now)
  local args = {'v', v, 't', kind, 'u', sn, 'n', fmt(n)}
  if not exists then
    args[#args + 1] = 'c'
    args[#args + 1] = sn
  end
  local x = false
  if ttl then
    x = fmt(now + ttl)
    args[#args + 1] = 'x'
    args[#args + 1] = x
  end
  redis.call('HSET', k, unpack(args))
  if x then
    redis.call('PEXPIREAT', k, x)
  else
    redis.call('HDEL', k, 'x')
    redis.call('PERSIST', k)
  end
  return n, num(x)
end
`;

/** KEYS: entry. ARGV: touch ms or "". Returns false or [v,t,c,u,x,r,n]. */
const get: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}${readEntry}
return read(KEYS[1], now_ms(), tonumber(ARGV[1]))
`,
};

/** KEYS: entries. Returns one get answer per key, in order. */
const getMany: ScriptDefinition = {
  lua: `${prelude}${readEntry}
local now = now_ms()
local out = {}
for i = 1, #KEYS do out[i] = read(KEYS[i], now, nil) end
return out
`,
};

/**
 * KEYS: seq, entry. ARGV: value, kind, ttl ms or "", mode
 * (always|absent|present|version), version.
 * Returns [applied, created, version, expiresAt or nil].
 */
const set: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${prelude}${writeEntry}
local k = KEYS[2]
local now = now_ms()
local cur = redis.call('HMGET', k, 'n', 'x')
local exists = redis.call('EXISTS', k) == 1
local mode = ARGV[4]
if (mode == 'absent' and exists) or (mode == 'present' and not exists)
  or (mode == 'version' and (not exists or tonumber(cur[1]) ~= tonumber(ARGV[5]))) then
  return {0, 0, tonumber(cur[1]) or 0, num(cur[2])}
end
local n, x = write(KEYS[1], k, ARGV[1], ARGV[2], tonumber(ARGV[3]), now, exists)
return {1, exists and 0 or 1, n, x}
`,
};

/**
 * KEYS: seq, entries. ARGV: value, kind, ttl ms or "" per entry.
 * Returns [created, version] per entry, flattened.
 */
const setMany: ScriptDefinition = {
  lua: `${prelude}${writeEntry}
local now = now_ms()
local out = {}
for i = 2, #KEYS do
  local a = (i - 2) * 3
  local exists = redis.call('EXISTS', KEYS[i]) == 1
  local n = write(KEYS[1], KEYS[i], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), now, exists)
  out[#out + 1] = exists and 0 or 1
  out[#out + 1] = n
end
return out
`,
};

/** KEYS: entry. Returns [found, expiresAt or nil]. */
const has: ScriptDefinition = {
  numberOfKeys: 1,
  readOnly: true,
  lua: `${prelude}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
return {1, num(redis.call('HGET', KEYS[1], 'x'))}
`,
};

/** KEYS: entries. Returns how many existed. */
const del: ScriptDefinition = {
  lua: `
local n = 0
for i = 1, #KEYS do n = n + redis.call('DEL', KEYS[i]) end
return n
`,
};

/**
 * KEYS: entry. ARGV: add ms, max TTL ms.
 * Returns [0] missing, [1, expiresAt or nil] extended, [2, remaining] exceeds max.
 * Not a write of the value, so the version and `u` stay.
 */
const extend: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then return {0} end
local x = num(redis.call('HGET', k, 'x'))
if not x then return {1} end
local now = now_ms()
local add = tonumber(ARGV[1])
local remaining = x - now
if remaining + add > tonumber(ARGV[2]) then return {2, remaining} end
local nx = fmt(x + add)
redis.call('HSET', k, 'x', nx)
redis.call('PEXPIREAT', k, nx)
return {1, tonumber(nx)}
`,
};

/**
 * KEYS: seq, entry. ARGV: delta (decimal int64), ttl ms or "" for a new key.
 * Returns [0, value, created, version, expiresAt or nil], [1] not an integer,
 * or [2] out of int64.
 *
 * Lua numbers are doubles, so the value never passes through one: HINCRBY
 * does exact int64 math and the result is read back as text.
 */
const increment: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${prelude}
local k = KEYS[2]
local now = now_ms()
local sn = fmt(now)
local f = redis.call('HMGET', k, 'v', 't', 'x')
if not f[1] then
  local n = redis.call('INCR', KEYS[1])
  local args = {'v', ARGV[1], 't', 'j', 'c', sn, 'u', sn, 'n', fmt(n)}
  local ttl = tonumber(ARGV[2])
  local x = false
  if ttl then
    x = fmt(now + ttl)
    args[#args + 1] = 'x'
    args[#args + 1] = x
  end
  redis.call('HSET', k, unpack(args))
  if x then redis.call('PEXPIREAT', k, x) end
  return {0, ARGV[1], 1, n, num(x)}
end
if f[2] ~= 'j' then return {1} end
-- Valid JSON that HINCRBY would refuse; the memory store takes it as 0.
if f[1] == '-0' then redis.call('HSET', k, 'v', '0') end
local r = redis.pcall('HINCRBY', k, 'v', ARGV[1])
if type(r) == 'table' and r.err then
  if string.find(r.err, 'overflow', 1, true) then return {2} end
  -- An integer that HINCRBY cannot parse is one already outside int64.
  if string.match(f[1], '^%-?[1-9]%d*$') then return {2} end
  return {1}
end
local n = redis.call('INCR', KEYS[1])
redis.call('HSET', k, 'u', sn, 'n', fmt(n))
return {0, redis.call('HGET', k, 'v'), 0, n, num(f[3])}
`,
};

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

/** Where a class that opens before `from` ends, as `globToRegExp` sees it; -1 when unterminated. */
function classEnd(chars: string[], from: number): number {
  for (let j = from; j < chars.length; j++) {
    if (chars[j] === "\\") {
      j++;
    } else if (chars[j] === "]" && j > from) {
      return j;
    }
  }
  return -1;
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
 * KEYS: seq (only so that Cluster routes the script to the namespace's
 * node). ARGV: MATCH pattern, redis cursor, resume next cursor or "", resume
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
const keys: ScriptDefinition = {
  numberOfKeys: 1,
  readOnly: true,
  lua: `
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
    local c = cursor
    while c ~= nextc do
      local n1, b1 = scan(c, 1)
      if #out + #b1 > limit then
        if #out > 0 then return {c, out} end
        return split(c, n1, b1)
      end
      append(b1)
      c = n1
      if c == '0' then return {'', out} end
    end
  else
    append(batch)
  end
  cursor = nextc
  if cursor == '0' then return {'', out} end
  if #out >= limit then break end
end
return {cursor, out}
`,
};

/** Every script, by the command name it is defined under. */
export const scripts = {
  larderGet: get,
  larderGetMany: getMany,
  larderSet: set,
  larderSetMany: setMany,
  larderHas: has,
  larderDelete: del,
  larderExtend: extend,
  larderIncrement: increment,
  larderKeys: keys,
} as const satisfies Record<string, ScriptDefinition>;
