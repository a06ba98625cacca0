/**
 * The Lua scripts of the Redis store's locks, one per Store method.
 *
 * A lock is a hash at `<tag>:l:<name>`: `k` owner token, `o` owner label,
 * `f` fencing token, `x` expiry (ms since the epoch); the key carries
 * PEXPIREAT `x`, so Redis does the expiring and an expired lock is simply
 * absent. Fencing tokens come from `<tag>:lseq`, one counter per namespace
 * that never expires: tokens rise with every grant of every name, across
 * expiries and releases, without leaving a counter behind per lock name
 * (get-or-compute locks a fresh name per key). Releases are announced on
 * the namespace's channel `<tag>:lr` with the lock's name as the message,
 * from inside the script, so no release can happen unannounced.
 */

import { scanPage } from "./scan.js";
import type { ScriptDefinition } from "./script.js";
import { prelude, setLua } from "./scripts.js";

/**
 * KEYS: lock, lock sequence. ARGV: owner token, owner label, ttl ms.
 * Returns [1, fencing token, expiresAt] when granted, else
 * [0, owner, expiresAt, fencing token, remaining ms] of the holder.
 */
const lock: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `${prelude}
local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'o', 'x', 'f')
if h[2] then return {0, h[1], h[2], h[3], tonumber(h[2]) - now} end
local n = redis.call('INCR', KEYS[2])
local x = fmt(now + tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'k', ARGV[1], 'o', ARGV[2], 'f', fmt(n), 'x', x)
redis.call('PEXPIREAT', KEYS[1], x)
return {1, n, x}
`,
};

/**
 * KEYS: lock. ARGV: owner token, release channel, lock name.
 * Returns 1 released, 2 not held, 3 held by another grant.
 */
const unlock: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local k = redis.call('HGET', KEYS[1], 'k')
if not k then return 2 end
if k ~= ARGV[1] then return 3 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`,
};

/**
 * KEYS: lock. ARGV: owner token, ttl ms from now.
 * Returns [1, expiresAt] extended, [2] not held, [3] held by another grant.
 * Not announced: waiters are not helped by a later expiry, and autoRenew
 * would otherwise wake every waiter for nothing every few seconds.
 */
const extendLock: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}
local k = redis.call('HGET', KEYS[1], 'k')
if not k then return {2} end
if k ~= ARGV[1] then return {3} end
local x = fmt(now_ms() + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'x', x)
redis.call('PEXPIREAT', KEYS[1], x)
return {1, x}
`,
};

/** KEYS: lock. Returns false when free, else [owner, expiresAt, fencing token, remaining ms]. */
const checkLock: ScriptDefinition = {
  numberOfKeys: 1,
  readOnly: true,
  lua: `${prelude}
local h = redis.call('HMGET', KEYS[1], 'o', 'x', 'f')
if not h[2] then return false end
return {h[1], h[2], h[3], tonumber(h[2]) - now_ms()}
`,
};

/**
 * The ListLocks script: a `scan_page()` over lock keys (KEYS and ARGV as
 * for Keys), then each lock's holder in the same step, skipping locks that
 * expired meanwhile, so that only live locks are listed. Returns
 * [next cursor, [key, owner, expiresAt, fencing token, remaining ms, ...]].
 */
const listLocks: ScriptDefinition = {
  numberOfKeys: 1,
  readOnly: true,
  lua: `${prelude}${scanPage}
local page = scan_page()
local now = now_ms()
local out = {}
for _, k in ipairs(page[2]) do
  local h = redis.call('HMGET', k, 'o', 'x', 'f')
  if h[2] then
    out[#out + 1] = k
    out[#out + 1] = h[1]
    out[#out + 1] = h[2]
    out[#out + 1] = h[3]
    out[#out + 1] = tonumber(h[2]) - now
  end
end
return {page[1], out}
`,
};

// True when the guard does not hold: the lock must be live, held with the
// token when one is given, by a grant at least min fencing token new.
const guardFails = `
local function guard_fails(lk, token, minf)
  local g = redis.call('HMGET', lk, 'k', 'f')
  if not g[1] then return true end
  if token ~= '' and g[1] ~= token then return true end
  return tonumber(g[2]) < tonumber(minf)
end
`;

/**
 * Set with a lock guard. KEYS: seq, entry, lock. ARGV: as set, then owner
 * token or "", min fencing token (0 when unchecked). Returns as set. The
 * guard is read in the same script as the write, so a holder whose grant
 * expired or was replaced cannot slip a write in between check and write.
 */
const guardedSet: ScriptDefinition = {
  numberOfKeys: 3,
  lua: setLua("guard_fails(KEYS[3], ARGV[6], ARGV[7])", guardFails),
};

/** Every lock script, by the command name it is defined under. */
export const lockScripts = {
  larderLock: lock,
  larderUnlock: unlock,
  larderExtendLock: extendLock,
  larderCheckLock: checkLock,
  larderListLocks: listLocks,
  larderGuardedSet: guardedSet,
} as const satisfies Record<string, ScriptDefinition>;
