/**
 * One Cluster or Sentinel set-up per kind per test file, shared by the
 * file's suites of that kind. Starting one costs 2–3 s (redis-cli waits for
 * the cluster to join; sentinels find each other by 2 s hello messages),
 * which a file with three suites per kind would pay three times. Suites stay
 * apart as they do on one standalone server: each has a store with a key
 * prefix of its own. A suite that damages its topology (kills a node) must
 * start one of its own instead.
 *
 * The topologies start when the file's tests begin, not when their first
 * suite does: their start-up is mostly waiting, which then overlaps the
 * file's memory and standalone suites instead of adding to them.
 */

import { afterAll, beforeAll } from "vitest";
import { startRedisTopology, type RedisTopology, type RedisTopologyKind } from "./redis-topologies.js";

interface Shared {
  /** Suites of the file that registered and have not released yet. */
  users: number;
  started: Promise<RedisTopology> | undefined;
}

const shared = new Map<RedisTopologyKind, Shared>();

function start(kind: RedisTopologyKind, entry: Shared): Promise<RedisTopology> {
  if (entry.started === undefined) {
    entry.started = startRedisTopology(kind);
    // Started ahead of use: a failure is reported by the suite that awaits it.
    entry.started.catch(() => {});
  }
  return entry.started;
}

async function stop(kind: RedisTopologyKind, entry: Shared): Promise<void> {
  if (shared.get(kind) === entry) shared.delete(kind);
  const topology = await entry.started?.catch(() => undefined);
  await topology?.stop();
}

// The file's first hook, run once every suite has registered: start all
// the topologies they will need, without waiting for any.
beforeAll(() => {
  for (const [kind, entry] of shared) void start(kind, entry);
});

// The file's last hook: a suite left out by a filter never runs its own
// afterAll, so its registration would keep the topology up until the
// worker exits. Registered when a test file first imports this module,
// hence on that file's root suite.
afterAll(async () => {
  await Promise.all([...shared].map(([kind, entry]) => stop(kind, entry)));
});

/** What a suite does with the shared topology in its hooks; see {@link shareTopology}. */
export interface SharedTopologyHandle {
  /** The file's topology of the kind, once it is up. */
  acquire(): Promise<RedisTopology>;
  /** Stops the topology once every registered suite has released it. */
  release(): Promise<void>;
}

/**
 * Registers the current suite as a user of the file's topology of `kind`.
 * Call it while suites are collected (in a describe callback), so that every
 * user is counted before the first one releases.
 */
export function shareTopology(kind: RedisTopologyKind): SharedTopologyHandle {
  let entry = shared.get(kind);
  if (entry === undefined) {
    entry = { users: 0, started: undefined };
    shared.set(kind, entry);
  }
  const mine = entry;
  mine.users++;
  let released = false;
  return {
    acquire: () => start(kind, mine),
    release: async () => {
      if (released) return;
      released = true;
      if (--mine.users === 0) await stop(kind, mine);
    },
  };
}
