/**
 * The Lua scripts of the Redis store's entries: only what a plain command
 * cannot do in one atomic step (conditional writes, touch, read tracking,
 * Extend, Increment). Plain reads need no script: Get is a GET, GetMany an
 * MGET (per node in a Cluster), Has a GETRANGE of the header.
 *
 * Entries are strings with a fixed-width header (entries.ts). Versions are
 * microseconds of the Redis clock at the write, raised past the key's
 * current version when that is not lower: no counter is shared by a
 * namespace's keys, so they can live on different slots, and a version
 * still rises on every write of a key and never repeats for it, across
 * delete and re-create and expiry (a later write is a later time). What it
 * assumes: the Redis clock never steps back past a key's last write before
 * the key is written again, which after a failover means the new master's
 * clock is no further behind than the time since that write.
 *
 * Scripts over many keys take them as `KEYS`, or, in a Cluster with spread
 * placement, the first as `KEYS[1]` (so that the call goes to its node) and
 * the rest in `ARGV` after their count: `allow-cross-slot-keys` lets one
 * script touch keys of several slots, one command per key, as long as they
 * all live on the node it runs on.
 */

import { headerLua } from "./entries.js";
import { keysScript } from "./scan.js";
import type { ScriptDefinition } from "./script.js";

/**
 * Lua every script starts with: `clock()` answers Redis' time in ms and in
 * µs from one TIME call, so that every Larder instance agrees; `fmt(n)`
 * formats an integral double without exponent notation (13-digit ms would
 * otherwise risk it), `num(s)` reads an optional number.
 */
export const prelude = `
local function clock()
  local t = redis.call('TIME')
  local s, us = tonumber(t[1]), tonumber(t[2])
  return s * 1000 + math.floor(us / 1000), s * 1000000 + us
end
local function fmt(n) return string.format('%.0f', n) end
local function num(s)
  if s and s ~= '' then return tonumber(s) end
  return false
end
local function next_version(old, us)
  if old and old >= us then return old + 1 end
  return us
end
`;

// The keys of a multi-key script: KEYS, then ARGV[2 .. ARGV[1] + 1]; returns
// them and the index of the first ARGV after them.
const keyList = `
local function key_list()
  local ks = {}
  for i = 1, #KEYS do ks[#ks + 1] = KEYS[i] end
  local m = tonumber(ARGV[1])
  for i = 2, m + 1 do ks[#ks + 1] = ARGV[i] end
  return ks, m + 2
end
`;

/**
 * The Lua `write(k, v, kind, ttl, now, us, h)` of every write: `h` is the
 * key's current header ('' when absent). `c` (created) and `r` (last read)
 * are kept on overwrite. Returns the new version and expiry.
 */
export const writeEntry = `${headerLua}
local function write(k, v, kind, ttl, now, us, h)
  local exists = h ~= ''
  local c = exists and h_created(h) or now
  local r = exists and h_read(h) or false
  local n = next_version(exists and h_version(h) or false, us)
  local x = ttl and (now + ttl) or false
  local s = entry_header(kind, c, now, x, r, n) .. v
  if x then
    redis.call('SET', k, s, 'PXAT', fmt(x))
  else
    redis.call('SET', k, s)
  end
  return n, x
end
local function header_of(k) return redis.call('GETRANGE', k, 0, HEADER - 1) end
`;

/**
 * The Lua of set, with `extraCondition` (a Lua expression that is true when
 * the write must not apply) checked in the same step as the others; the
 * guarded sets add their guard this way. KEYS[1]: entry. ARGV: value,
 * kind, ttl ms or "", mode (always|absent|present|version), version, then
 * what the condition reads. Returns [applied, created, version, expiresAt or nil].
 */
export function setLua(extraCondition: string, helpers = ""): string {
  return `${prelude}${writeEntry}${helpers}
local k = KEYS[1]
local now, us = clock()
local h = header_of(k)
local exists = h ~= ''
local cur = exists and h_version(h) or 0
local mode = ARGV[4]
if (mode == 'absent' and exists) or (mode == 'present' and not exists)
  or (mode == 'version' and (not exists or cur ~= tonumber(ARGV[5])))
  or (${extraCondition}) then
  return {0, 0, cur, exists and h_expires(h) or false}
end
local n, x = write(k, ARGV[1], ARGV[2], tonumber(ARGV[3]), now, us, h)
return {1, exists and 0 or 1, n, x}
`;
}

/** Set; see {@link setLua}. */
const set: ScriptDefinition = { numberOfKeys: 1, lua: setLua("false") };

/**
 * A Get that writes: with touch (ARGV[1], ms or "") it moves the expiry,
 * with tracking (ARGV[2] "1") it records the read time, at most once a
 * second per key however hot the key. KEYS[1]: entry. Returns false, or
 * [header as it is now, stored string].
 */
const getWriting: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}${headerLua}
local k = KEYS[1]
local s = redis.call('GET', k)
if not s then return false end
local now = clock()
local h = string.sub(s, 1, HEADER)
local x, r = h_expires(h), h_read(h)
local touch = tonumber(ARGV[1])
local changed = false
if touch then
  x = now + touch
  redis.call('SETRANGE', k, 30, string.format('%013.0f', x))
  redis.call('PEXPIREAT', k, fmt(x))
  changed = true
end
if ARGV[2] == '1' and (not r or now - r >= 1000) then
  r = now
  redis.call('SETRANGE', k, 44, string.format('%013.0f', r))
  changed = true
end
if changed then h = entry_header(h_kind(h), h_created(h), hfield(h, 16, 13), x, r, h_version(h)) end
return {h, s}
`,
};

/**
 * GetMany with read tracking (at most one write per key per second).
 * Keys as {@link keyList}. Returns [stored or false, last read or 0] per key.
 */
const getManyTracked: ScriptDefinition = {
  lua: `#!lua flags=allow-cross-slot-keys
${prelude}${headerLua}${keyList}
local ks = key_list()
local now = clock()
local out = {}
for i, k in ipairs(ks) do
  local s = redis.call('GET', k)
  local r = 0
  if s then
    r = h_read(s) or 0
    if now - r >= 1000 then
      r = now
      redis.call('SETRANGE', k, 44, string.format('%013.0f', r))
    end
  end
  out[2 * i - 1] = s
  out[2 * i] = r
end
return out
`,
};

/**
 * GetMany on one Cluster node, for keys of several slots (a GET each;
 * MGET must stay in one slot). Keys as {@link keyList}. Returns the stored
 * strings, false for a miss.
 */
const getManyCross: ScriptDefinition = {
  readOnly: true,
  lua: `#!lua flags=no-writes,allow-cross-slot-keys
${keyList}
local ks = key_list()
local out = {}
for i, k in ipairs(ks) do out[i] = redis.call('GET', k) end
return out
`,
};

/**
 * SetMany: keys as {@link keyList}, then value, kind, ttl ms or "" per
 * entry. Atomic for the keys it is given. Returns [created, version] per
 * entry, flattened.
 */
const setMany: ScriptDefinition = {
  lua: `#!lua flags=allow-cross-slot-keys
${prelude}${writeEntry}${keyList}
local ks, a = key_list()
local now, us = clock()
local out = {}
for i, k in ipairs(ks) do
  local h = header_of(k)
  local n = write(k, ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), now, us, h)
  a = a + 3
  out[#out + 1] = h == '' and 1 or 0
  out[#out + 1] = n
end
return out
`,
};

/** Delete on one Cluster node, for keys of several slots. Keys as {@link keyList}. Returns how many existed. */
const deleteCross: ScriptDefinition = {
  lua: `#!lua flags=allow-cross-slot-keys
${keyList}
local n = 0
for _, k in ipairs(key_list()) do n = n + redis.call('DEL', k) end
return n
`,
};

/**
 * KEYS[1]: entry. ARGV: add ms, max TTL ms.
 * Returns [0] missing, [1, expiresAt or nil] extended, [2, remaining] exceeds max.
 * Not a write of the value, so the version and `u` stay.
 */
const extend: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}${headerLua}
local k = KEYS[1]
local h = redis.call('GETRANGE', k, 0, HEADER - 1)
if h == '' then return {0} end
local x = h_expires(h)
if not x then return {1} end
local now = clock()
local add = tonumber(ARGV[1])
local remaining = x - now
if remaining + add > tonumber(ARGV[2]) then return {2, remaining} end
local nx = x + add
redis.call('SETRANGE', k, 30, string.format('%013.0f', nx))
redis.call('PEXPIREAT', k, fmt(nx))
return {1, nx}
`,
};

// Exact int64 addition of decimal strings: Lua numbers are doubles.
const decimalLua = `
local function parse_int(s)
  local neg, m = string.match(s, '^(%-?)(%d+)$')
  if not m then return nil end
  m = string.gsub(m, '^0+', '')
  if m == '' then return false, '0' end
  return neg == '-', m
end
local function cmp_mag(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function add_mag(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local s = carry + (i > 0 and string.byte(a, i) - 48 or 0) + (j > 0 and string.byte(b, j) - 48 or 0)
    table.insert(out, 1, s % 10)
    carry = math.floor(s / 10)
    i, j = i - 1, j - 1
  end
  return table.concat(out)
end
local function sub_mag(a, b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local d = string.byte(a, i) - 48 - borrow - (j > 0 and string.byte(b, j) - 48 or 0)
    borrow = d < 0 and 1 or 0
    table.insert(out, 1, d + 10 * borrow)
    i, j = i - 1, j - 1
  end
  local r = string.gsub(table.concat(out), '^0+', '')
  return r == '' and '0' or r
end
local INT64_MAX, INT64_MIN = '9223372036854775807', '9223372036854775808'
local function in_range(neg, m) return cmp_mag(m, neg and INT64_MIN or INT64_MAX) <= 0 end
local function add_int(na, ma, nb, mb)
  local neg, m
  if na == nb then
    neg, m = na, add_mag(ma, mb)
  else
    local c = cmp_mag(ma, mb)
    if c == 0 then return false, '0' end
    if c > 0 then neg, m = na, sub_mag(ma, mb) else neg, m = nb, sub_mag(mb, ma) end
  end
  return neg, m
end
`;

/**
 * KEYS[1]: entry. ARGV: delta (decimal int64), ttl ms or "" for a new key.
 * Returns [0, value, created, version, expiresAt or nil], [1] not an
 * integer, or [2] out of int64. The expiry of an existing key stays.
 */
const increment: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}${writeEntry}${decimalLua}
local k = KEYS[1]
local now, us = clock()
local s = redis.call('GET', k)
if not s then
  local n, x = write(k, ARGV[1], 'j', tonumber(ARGV[2]), now, us, '')
  return {0, ARGV[1], 1, n, x}
end
local h = string.sub(s, 1, HEADER)
if h_kind(h) ~= 'j' then return {1} end
local na, ma = parse_int(string.sub(s, HEADER + 1))
if na == nil then return {1} end
if not in_range(na, ma) then return {2} end
local nb, mb = parse_int(ARGV[1])
local neg, m = add_int(na, ma, nb, mb)
if not in_range(neg, m) then return {2} end
local v = (neg and '-' or '') .. m
local n = next_version(h_version(h), us)
local x = h_expires(h)
redis.call('SET', k, entry_header('j', h_created(h), now, x, h_read(h), n) .. v, 'KEEPTTL')
return {0, v, 0, n, x}
`,
};

/** Every entry script, by the name `defineCommand` adds it to the client under. */
export const scripts = {
  larderGetWriting: getWriting,
  larderGetManyTracked: getManyTracked,
  larderGetManyCross: getManyCross,
  larderSet: set,
  larderSetMany: setMany,
  larderDeleteCross: deleteCross,
  larderExtend: extend,
  larderIncrement: increment,
  larderKeys: keysScript,
};
