/**
 * The Lua scripts of the Redis store: one script per Store method, so that
 * every method is one round trip and every write is atomic.
 *
 * An entry is a hash: `v` value, `t` kind (`j` JSON text, `b` bytes), `c`
 * created, `u` updated, `x` expires (absent when never), `r` last read
 * (absent until read), `n` version; all times in ms since the epoch. The key
 * itself carries PEXPIREAT `x`, so Redis does the expiring.
 *
 * The Keys script and its argument formats live in scan.ts, the lock
 * scripts in lock-scripts.ts.
 */

import { keysScript } from "./scan.js";
import type { ScriptDefinition } from "./script.js";

/**
 * Lua helpers every script starts with: `now_ms()`, `fmt(n)`, `num(s)`.
 * Time comes from Redis so that every Larder instance agrees. Numbers are
 * formatted with %.0f because Lua's default conversion of a 13-digit double
 * can produce exponent notation, which neither HSET readers nor PEXPIREAT
 * accept.
 */
export const prelude = `
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

// The header both read scripts answer before a value, decoded by
// decodeEntries (entries.ts): kind, then created, updated, expires
// (empty when never) and version, each followed by a comma.
const entryHeader = `
local function header(t, c, u, x, n)
  return (t == 'b' and 'b' or 'j') .. (c or '') .. ',' .. (u or '') .. ',' .. (x or '') .. ',' .. (n or '') .. ','
end
`;

/**
 * The Lua `write(...)` shared by set, setMany, the guarded set and an
 * increment that creates its key. The version comes from the namespace
 * sequence, which never expires and is never reset, so a deleted and
 * recreated key never gets an old version back (no ABA for compare-and-set).
 * `r` and, on overwrite, `c` are left as they are.
 */
export const writeEntry = `
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

/**
 * KEYS: entry. ARGV: touch ms or "". Returns false, or [now, header, v] as
 * getMany answers one hit. A hit records the read time (and, with touch, a
 * new expiry) before answering, so the answer shows the state after it.
 */
const get: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}${entryHeader}
local k = KEYS[1]
local f = redis.call('HMGET', k, 'v', 't', 'c', 'u', 'x', 'n')
if not f[1] then return false end
local now = now_ms()
local sn = fmt(now)
local x = f[5]
local touch = tonumber(ARGV[1])
if touch then
  x = fmt(now + touch)
  redis.call('HSET', k, 'r', sn, 'x', x)
  redis.call('PEXPIREAT', k, x)
else
  redis.call('HSET', k, 'r', sn)
end
return {sn, header(f[2], f[3], f[4], x, f[6]), f[1]}
`,
};

/**
 * KEYS: entries. Returns a flat array: now, then per key in order `-` when
 * missing, else the header `<t><c>,<u>,<x>,<n>,` (`x` empty when never)
 * followed by `v` (see decodeEntries in entries.ts); every hit's `r`
 * is now.
 */
const getMany: ScriptDefinition = {
  lua: `${prelude}${entryHeader}
local sn = fmt(now_ms())
local out = {sn}
local o = 1
for i = 1, #KEYS do
  local k = KEYS[i]
  local f = redis.call('HMGET', k, 'v', 't', 'c', 'u', 'x', 'n')
  local v = f[1]
  o = o + 1
  if v then
    redis.call('HSET', k, 'r', sn)
    out[o] = header(f[2], f[3], f[4], f[5], f[6])
    o = o + 1
    out[o] = v
  else
    out[o] = '-'
  end
end
return out
`,
};

/**
 * The Lua of set, with `extraCondition` (a Lua expression that is true when
 * the write must not apply) checked in the same step as the others; the
 * lock-guarded set adds its guard this way. `helpers` is Lua defining what
 * the condition calls. KEYS and ARGV as documented on `set` below.
 */
export function setLua(extraCondition: string, helpers = ""): string {
  return `${prelude}${writeEntry}${helpers}
local k = KEYS[2]
local now = now_ms()
local cur = redis.call('HMGET', k, 'n', 'x')
local exists = redis.call('EXISTS', k) == 1
local mode = ARGV[4]
if (mode == 'absent' and exists) or (mode == 'present' and not exists)
  or (mode == 'version' and (not exists or tonumber(cur[1]) ~= tonumber(ARGV[5])))
  or (${extraCondition}) then
  return {0, 0, tonumber(cur[1]) or 0, num(cur[2])}
end
local n, x = write(KEYS[1], k, ARGV[1], ARGV[2], tonumber(ARGV[3]), now, exists)
return {1, exists and 0 or 1, n, x}
`;
}

/**
 * KEYS: seq, entry. ARGV: value, kind, ttl ms or "", mode
 * (always|absent|present|version), version.
 * Returns [applied, created, version, expiresAt or nil].
 */
const set: ScriptDefinition = {
  numberOfKeys: 2,
  lua: setLua("false"),
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
  lua: `${prelude}${writeEntry}
local k = KEYS[2]
local now = now_ms()
local sn = fmt(now)
local f = redis.call('HMGET', k, 'v', 't', 'x')
if not f[1] then
  local n, x = write(KEYS[1], k, ARGV[1], 'j', tonumber(ARGV[2]), now, false)
  return {0, ARGV[1], 1, n, x}
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

/** Every script, by the name `defineCommand` adds it to the client under. */
export const scripts = {
  larderGet: get,
  larderGetMany: getMany,
  larderSet: set,
  larderSetMany: setMany,
  larderHas: has,
  larderDelete: del,
  larderExtend: extend,
  larderIncrement: increment,
  larderKeys: keysScript,
} as const satisfies Record<string, ScriptDefinition>;
