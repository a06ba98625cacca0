/**
 * The Lua scripts of the Redis store's locks, one per Store method.
 *
 * A lock is a hash at its lock key (keys.ts): `k` owner token, `o` owner
 * label, `f` fencing token, `x` expiry (ms since the epoch; 0 once
 * released). A grant is live while `k` is set and `x` is ahead of Redis'
 * clock. The key itself outlives its grant by a grace period, and a release
 * keeps it too, so that the next grant of that name reads `f` and goes past
 * it: fencing tokens are microseconds of the Redis clock at the grant,
 * raised past the previous grant's token. They rise strictly with every
 * grant of a name, across expiry, release, restart and failover, with no
 * counter shared by a namespace, and a lock leaves nothing behind longer
 * than its TTL plus the grace period. What it assumes: a new grant within
 * the grace period reads the previous token (the key is still there), and
 * after it the Redis clock is ahead of the previous grant, which holds
 * unless a failover brings a master whose clock is behind by more than the
 * grace period (60 s).
 *
 * Releases are announced on the namespace's channel with the lock's name as
 * the message, from inside the script, so no release can happen unannounced.
 */

import { scanPage } from "./scan.js";
import type { ScriptDefinition } from "./script.js";
import { prelude, setLua } from "./scripts.js";

/** How long a lock key outlives its grant, in ms; see the module comment. */
export const lockGraceMs = 60_000;

// The live holder of a lock, or nil: [owner, expiresAt, fencing token, remaining ms].
const liveHolder = `
local function live_holder(key, now)
  local h = redis.call('HMGET', key, 'k', 'o', 'x', 'f')
  local x = num(h[3])
  if not h[1] or not x or x <= now then return nil, h end
  return {h[2], h[3], h[4], x - now}, h
end
`;

/**
 * KEYS[1]: lock. ARGV: owner token, owner label, ttl ms, grace ms.
 * Returns [1, fencing token, expiresAt] when granted, else
 * [0, owner, expiresAt, fencing token, remaining ms] of the holder.
 */
const lock: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}${liveHolder}
local now, us = clock()
local holder, h = live_holder(KEYS[1], now)
if holder then return {0, holder[1], holder[2], holder[3], holder[4]} end
local f = next_version(num(h[4]), us)
local x = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'k', ARGV[1], 'o', ARGV[2], 'f', fmt(f), 'x', fmt(x))
redis.call('PEXPIREAT', KEYS[1], fmt(x + tonumber(ARGV[4])))
return {1, f, x}
`,
};

/**
 * KEYS[1]: lock. ARGV: owner token, release channel, lock name, grace ms.
 * Returns 1 released, 2 not held, 3 held by another grant.
 */
const unlock: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}${liveHolder}
local holder, h = live_holder(KEYS[1], clock())
if not holder then return 2 end
if h[1] ~= ARGV[1] then return 3 end
redis.call('HDEL', KEYS[1], 'k', 'o')
redis.call('HSET', KEYS[1], 'x', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`,
};

/**
 * KEYS[1]: lock. ARGV: owner token, ttl ms from now, grace ms.
 * Returns [1, expiresAt] extended, [2] not held, [3] held by another grant.
 * Not announced: waiters are not helped by a later expiry, and autoRenew
 * would otherwise wake every waiter for nothing every few seconds.
 */
const extendLock: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `${prelude}${liveHolder}
local now = clock()
local holder, h = live_holder(KEYS[1], now)
if not holder then return {2} end
if h[1] ~= ARGV[1] then return {3} end
local x = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'x', fmt(x))
redis.call('PEXPIREAT', KEYS[1], fmt(x + tonumber(ARGV[3])))
return {1, x}
`,
};

/** KEYS[1]: lock. Returns false when free, else [owner, expiresAt, fencing token, remaining ms]. */
const checkLock: ScriptDefinition = {
  numberOfKeys: 1,
  readOnly: true,
  lua: `${prelude}${liveHolder}
local holder = live_holder(KEYS[1], clock())
return holder or false
`,
};

/**
 * The ListLocks script: a `scan_page()` over lock keys (ARGV as for Keys),
 * then each lock's live holder in the same step, so that only live locks are
 * listed. Returns [next cursor, [key, owner, expiresAt, fencing token, remaining ms, ...]].
 */
const listLocks: ScriptDefinition = {
  numberOfKeys: 0,
  readOnly: true,
  lua: `${prelude}${liveHolder}${scanPage}
local page = scan_page()
local now = clock()
local out = {}
for _, k in ipairs(page[2]) do
  local holder = live_holder(k, now)
  if holder then
    out[#out + 1] = k
    for i = 1, 4 do out[#out + 1] = holder[i] end
  end
end
return {page[1], out}
`,
};

// True when the guard does not hold: the lock must be live, held with the
// token when one is given, by a grant at least min fencing token new.
const guardFails = `
local function guard_fails(lk, token, minf, now)
  local g = redis.call('HMGET', lk, 'k', 'f', 'x')
  local x = num(g[3])
  if not g[1] or not x or x <= now then return true end
  if token ~= '' and g[1] ~= token then return true end
  return tonumber(g[2]) < tonumber(minf)
end
`;

/**
 * Set with a lock guard, lock and entry on one node. KEYS: entry, lock.
 * ARGV: as set, then owner token or "", min fencing token (0 when
 * unchecked). Returns as set. The guard is read in the same script as the
 * write, so a holder whose grant expired or was replaced cannot slip a write
 * in between check and write.
 */
const guardedSet: ScriptDefinition = {
  numberOfKeys: 2,
  lua: setLua("guard_fails(KEYS[2], ARGV[6], ARGV[7], now)", guardFails),
};

/**
 * The first step of a guarded Set whose lock lives on another Cluster node
 * than the entry: KEYS[1] lock; ARGV: owner token or "", min fencing token.
 * Returns the grant's expiry when the guard holds, else false.
 */
const lockGuard: ScriptDefinition = {
  numberOfKeys: 1,
  readOnly: true,
  lua: `${prelude}${guardFails}
local now = clock()
if guard_fails(KEYS[1], ARGV[1], ARGV[2], now) then return false end
return tonumber(redis.call('HGET', KEYS[1], 'x'))
`,
};

/**
 * The second step: KEYS[1] entry; ARGV as set, then the grant's expiry.
 * The write applies only while the grant is live by the entry node's clock.
 */
const setBeforeExpiry: ScriptDefinition = {
  numberOfKeys: 1,
  lua: setLua("now >= tonumber(ARGV[6])"),
};

/** Every lock script, by the name `defineCommand` adds it to the client under. */
export const lockScripts = {
  larderLock: lock,
  larderUnlock: unlock,
  larderExtendLock: extendLock,
  larderCheckLock: checkLock,
  larderListLocks: listLocks,
  larderGuardedSet: guardedSet,
  larderLockGuard: lockGuard,
  larderSetBeforeExpiry: setBeforeExpiry,
};
