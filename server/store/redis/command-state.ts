import { randomBytes } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import type { CommandDecision, CommandEventRecord, CommandIdentityRecord, CommandState, FlightState, StoredCommandResponse } from "../command-state.js";

/** What the Redis RunCommand state borrows from the Redis store. */
export interface RedisCommandStateOptions {
  /** The store's connection (standalone, Sentinel or Cluster). */
  client: Redis | Cluster;
  /** The namespace's key segment with its Cluster hash tag, as the store builds it. */
  tag: (ns: string) => string;
  /** The store's call wrapper (timeouts, connection errors as `unavailable`). */
  run: <T>(send: () => Promise<T>) => Promise<T>;
  /**
   * Added to Redis' TIME in every script. Default 0. Tests move the state
   * machine's clock with it instead of sleeping for minutes.
   */
  clockOffsetMs?: () => number;
}

const maxEvents = 10_000;

// Every script reads the clock from TIME so that all server instances agree
// on ages; %d keeps 13-digit milliseconds out of Lua's float formatting.
const clock = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local nows = string.format('%d', now)`;

// The per-command index of identities (a sorted set by last live call) that
// the dashboard lists; it shares the state hashes' hash tag, so the scripts
// that write a state may also write it, and trims what is past keeping.
const indexLua = (keepArg: string, idArg: string): string => `redis.call('ZADD', KEYS[2], nows, ${idArg})
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%d', now - tonumber(${keepArg})))
redis.call('PEXPIRE', KEYS[2], ${keepArg})`;

const scripts = {
  larderCmdDecide: {
    numberOfKeys: 1,
    lua: `${clock}
local h = redis.call('HMGET', KEYS[1], 'r', 'at', 'fb')
local at = tonumber(h[2])
local valid = h[1] and at and (now - at) <= tonumber(ARGV[3])
if h[3] == '1' then
  local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
  if (not valid) or n % 5 == 0 then return {'live', nows} end
  return {'fallback', nows, h[1], h[2]}
end
if valid and (now - at) < tonumber(ARGV[2]) then return {'cached', nows, h[1], h[2]} end
return {'live', nows}`,
  },
  larderCmdSuccess: {
    numberOfKeys: 2,
    lua: `${clock}
local was = redis.call('HGET', KEYS[1], 'fb')
redis.call('HSET', KEYS[1], 'r', ARGV[2], 'at', nows, 'fb', '0', 'n', '0', 'ls', ARGV[4], 'lt', nows)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
${indexLua("ARGV[3]", "ARGV[5]")}
return {was == '1' and '1' or '0', nows}`,
  },
  larderCmdFailure: {
    numberOfKeys: 2,
    lua: `${clock}
local h = redis.call('HMGET', KEYS[1], 'r', 'at', 'fb')
local activated = h[3] ~= '1'
if activated then redis.call('HSET', KEYS[1], 'fb', '1', 'n', '0') end
redis.call('HSET', KEYS[1], 'ls', ARGV[3], 'lt', nows)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
${indexLua("ARGV[2]", "ARGV[4]")}
local at = tonumber(h[2])
local a = activated and '1' or '0'
if h[1] and at and (now - at) <= tonumber(ARGV[2]) then return {a, nows, h[1], h[2]} end
return {a, nows}`,
  },
  larderCmdStates: {
    numberOfKeys: 1,
    lua: `${clock}
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', string.format('%d', now - tonumber(ARGV[2])), 'LIMIT', 0, tonumber(ARGV[3]))
local out = {nows}
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', ARGV[4] .. id, 'at', 'fb', 'ls', 'lt')
  if h[4] then
    out[#out + 1] = id
    out[#out + 1] = h[1] or ''
    out[#out + 1] = h[2] or '0'
    out[#out + 1] = h[3] or '0'
    out[#out + 1] = h[4]
  end
end
return out`,
  },
  larderCmdAddEvent: {
    numberOfKeys: 1,
    lua: `${clock}
redis.call('ZADD', KEYS[1], nows, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%d', now - tonumber(ARGV[3])))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -${maxEvents + 1})
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return nows`,
  },
  larderCmdEvents: {
    numberOfKeys: 1,
    lua: `${clock}
local all = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', string.format('%d', now - tonumber(ARGV[2])), 'WITHSCORES')
local out = {}
local limit = tonumber(ARGV[3])
for i = 1, #all, 2 do
  if #out >= limit * 2 then break end
  local e = cjson.decode(all[i])
  if ARGV[4] == '' or e.c == ARGV[4] then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out`,
  },
  larderCmdLead: {
    numberOfKeys: 1,
    lua: `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'1', ARGV[1]} end
return {'0', redis.call('GET', KEYS[1]) or ''}`,
  },
  larderCmdLand: {
    numberOfKeys: 2,
    lua: `redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`,
  },
  larderCmdFlight: {
    numberOfKeys: 2,
    lua: `local o = redis.call('GET', KEYS[2])
if o and o ~= '' then return {'done', o} end
if redis.call('GET', KEYS[1]) == ARGV[1] then return {'running'} end
return {'gone'}`,
  },
} as const;

type Fn = (...args: (string | number)[]) => Promise<(string | null)[] | string | number>;
type Commands = Record<keyof typeof scripts, Fn>;

/**
 * RunCommand state in Redis: one Lua script per call, keys under the
 * namespace's hash tag (`…:c:<id>` state hash, `…:ci:<command>` the
 * command's identities by last live call, `…:cev` event sorted set,
 * `…:cl:<id>` single-flight lease, `…:cr:<token>` its outcome).
 */
export function createRedisCommandState(options: RedisCommandStateOptions): CommandState {
  const { client, tag, run } = options;
  for (const [name, def] of Object.entries(scripts)) client.defineCommand(name, def);
  const c = client as unknown as Commands;
  const offset = (): string => String(Math.trunc(options.clockOffsetMs?.() ?? 0));
  const stateKey = (ns: string, id: string): string => `${tag(ns)}:c:${id}`;
  // An identity starts with its command's name, which holds no colon (identity.ts).
  const indexKey = (ns: string, id: string): string => `${tag(ns)}:ci:${id.slice(0, Math.max(0, id.indexOf(":")))}`;
  const leaseKey = (ns: string, id: string): string => `${tag(ns)}:cl:${id}`;
  const outcomeKey = (ns: string, token: string): string => `${tag(ns)}:cr:${token}`;
  const entry = (r: (string | null)[]): StoredCommandResponse | undefined =>
    r[2] == null ? undefined : { response: r[2], storedAt: Number(r[3]) };

  return {
    async decide(ns, id, freshMs, keepMs): Promise<CommandDecision> {
      const r = (await run(() => c.larderCmdDecide(stateKey(ns, id), offset(), freshMs, keepMs))) as (string | null)[];
      const now = Number(r[1]);
      const e = entry(r);
      if ((r[0] === "cached" || r[0] === "fallback") && e !== undefined) return { action: r[0], entry: e, now };
      return { action: "live", now };
    },
    async recordSuccess(ns, id, response, keepMs, status) {
      const r = (await run(() => c.larderCmdSuccess(stateKey(ns, id), indexKey(ns, id), offset(), response, keepMs, status, id))) as string[];
      return { deactivated: r[0] === "1", now: Number(r[1]) };
    },
    async recordFailure(ns, id, keepMs, status) {
      const r = (await run(() => c.larderCmdFailure(stateKey(ns, id), indexKey(ns, id), offset(), keepMs, status, id))) as (string | null)[];
      return { activated: r[0] === "1", entry: entry(r), now: Number(r[1]) };
    },
    async listStates(ns, command, limit, keepMs) {
      const r = (await run(() => c.larderCmdStates(`${tag(ns)}:ci:${command}`, offset(), keepMs, limit, `${tag(ns)}:c:`))) as string[];
      const states: CommandIdentityRecord[] = [];
      for (let i = 1; i + 4 < r.length; i += 5) {
        const at = r[i + 1] ?? "";
        states.push({
          id: r[i] ?? "",
          storedAt: at === "" ? undefined : Number(at),
          fallback: r[i + 2] === "1",
          lastStatus: Number(r[i + 3]),
          updatedAt: Number(r[i + 4]),
        });
      }
      return { states, now: Number(r[0]) };
    },
    async addEvent(ns, event, keepMs) {
      // The nonce keeps two identical events of one millisecond apart in the set.
      const member = JSON.stringify({ c: event.command, s: event.upstreamStatus, k: event.kind, x: randomBytes(6).toString("hex") });
      const t = await run(() => c.larderCmdAddEvent(`${tag(ns)}:cev`, offset(), member, keepMs));
      return { ...event, time: Number(t) };
    },
    async listEvents(ns, command, limit, keepMs) {
      const r = (await run(() => c.larderCmdEvents(`${tag(ns)}:cev`, offset(), keepMs, limit, command ?? ""))) as string[];
      const out: CommandEventRecord[] = [];
      for (let i = 0; i + 1 < r.length; i += 2) {
        const e = JSON.parse(r[i] ?? "{}") as { c: string; s: number; k: CommandEventRecord["kind"] };
        out.push({ time: Number(r[i + 1]), command: e.c, upstreamStatus: e.s, kind: e.k });
      }
      return out;
    },
    async lead(ns, id, ttlMs) {
      const token = randomBytes(12).toString("base64url");
      const r = (await run(() => c.larderCmdLead(leaseKey(ns, id), token, ttlMs))) as string[];
      return { leader: r[0] === "1", token: r[1] ?? "" };
    },
    async land(ns, id, token, outcome, keepMs) {
      await run(() => c.larderCmdLand(leaseKey(ns, id), outcomeKey(ns, token), token, outcome, keepMs));
    },
    async flight(ns, id, token): Promise<FlightState> {
      const r = (await run(() => c.larderCmdFlight(leaseKey(ns, id), outcomeKey(ns, token), token))) as string[];
      if (r[0] === "done") return { state: "done", outcome: r[1] ?? "" };
      return r[0] === "running" ? { state: "running" } : { state: "gone" };
    },
  };
}
