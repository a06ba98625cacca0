/**
 * Waiting for replicas before a write is acknowledged. Redis replicates
 * asynchronously: a write that the master acknowledged and had not yet sent
 * to a replica is lost if the master dies and that replica takes over.
 * `WAIT` closes that window for the writes sent before it on the same
 * connection, at the cost of a round trip to the replica per write.
 */

import { LarderError } from "../../core/errors.js";
import type { RedisConnection } from "./connection.js";
import type { Topology } from "./topology.js";

/** How many replicas must confirm a write before Larder acknowledges it. */
export interface WaitForReplicas {
  /** Replicas that must have the write. */
  readonly replicas: number;
  /** How long to wait for them, in ms; a write not confirmed by then fails as unavailable. Default 500. */
  readonly timeoutMs?: number;
}

/** Confirms writes with WAIT on the connection that sent them; does nothing when unset. */
export class Durability {
  /**
   * @param conn the store's connection.
   * @param topology which node holds a key (in a Cluster, WAIT goes to that master's connection).
   * @param wait the setting; undefined: acknowledge on the master's word alone.
   */
  constructor(
    private readonly conn: RedisConnection,
    private readonly topology: Topology,
    private readonly wait: WaitForReplicas | undefined,
  ) {}

  /**
   * Resolves once the configured replicas have the writes just made to
   * `names`. Throws an `unavailable` LarderError when fewer confirm in time:
   * the write is on the master, but it is not yet safe from its failure.
   */
  async confirm(names: readonly string[]): Promise<void> {
    const wait = this.wait;
    if (wait === undefined || names.length === 0) return;
    const timeoutMs = wait.timeoutMs ?? 500;
    const nodes = this.topology.isCluster ? this.topology.mastersOf(names) : [this.conn.client];
    const acks = await Promise.all(nodes.map((node) => this.conn.run(() => node.wait(wait.replicas, timeoutMs))));
    const fewest = Math.min(...acks.map(Number));
    if (fewest < wait.replicas) {
      throw new LarderError(
        "unavailable",
        `backend unavailable: the write reached the master but ${fewest} of ${wait.replicas} replica(s) confirmed it within ${timeoutMs} ms`,
      );
    }
  }
}
