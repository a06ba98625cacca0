/**
 * What the Redis store needs to know about where keys live: nothing outside
 * a Cluster (one node holds everything), and in a Cluster which master owns
 * each key, so that a multi-key call makes one round trip per node
 * involved, and a scan visits every master once.
 */

import { createHash } from "node:crypto";
import calculateSlot from "cluster-key-slot";
import { Cluster, type Redis } from "ioredis";

/** The masters of a Cluster in a stable order, and what identifies their slot map. */
export interface Masters {
  readonly nodes: readonly Redis[];
  /** Changes whenever a slot moves to another master (or a master is replaced). */
  readonly fingerprint: string;
}

/** The node layout of the store's connection. */
export class Topology {
  /** @param client the store's connection: standalone, Sentinel or Cluster. */
  constructor(private readonly client: Redis | Cluster) {}

  /** Whether keys are spread over several nodes. */
  get isCluster(): boolean {
    return this.client instanceof Cluster;
  }

  /** Resolves once a Cluster client knows the slot map (at once outside a Cluster). */
  async ready(): Promise<void> {
    const cluster = this.client;
    if (!(cluster instanceof Cluster) || cluster.status === "ready") return;
    await new Promise<void>((resolve) => cluster.once("ready", () => resolve()));
  }

  /**
   * The indexes of `names`, grouped by the master that owns each; one
   * group outside a Cluster. A group's first name routes a call to its node.
   * Call after {@link ready}: before the slot map is known, every name
   * would be a group of its own.
   */
  groupByNode(names: readonly string[]): number[][] {
    if (!(this.client instanceof Cluster)) return [names.map((_, i) => i)];
    const slots = this.client.slots;
    const groups = new Map<string, number[]>();
    for (let i = 0; i < names.length; i++) {
      // A slot the client does not know yet goes by itself; ioredis then
      // learns where it lives from Redis' MOVED answer.
      const slot = calculateSlot(names[i] as string);
      const node = slots[slot]?.[0] ?? `slot:${slot}`;
      let group = groups.get(node);
      if (group === undefined) groups.set(node, (group = []));
      group.push(i);
    }
    return [...groups.values()];
  }

  /**
   * The master connections that hold `names` (each once), for commands that
   * must go to the connection that made the write (WAIT). Call after
   * {@link ready}; outside a Cluster, the one connection.
   */
  mastersOf(names: readonly string[]): Redis[] {
    if (!(this.client instanceof Cluster)) return [this.client];
    const byKey = new Map(this.client.nodes("master").map((n) => [`${n.options.host}:${n.options.port}`, n]));
    const out = new Set<Redis>();
    for (const name of names) {
      const node = byKey.get(this.client.slots[calculateSlot(name)]?.[0] ?? "");
      if (node !== undefined) out.add(node);
    }
    return [...out];
  }

  /**
   * The masters, ordered by the first slot each serves, with a fingerprint
   * of the slot map. A scan cursor carries the fingerprint, and a cursor of
   * another map starts the scan over: keys may then be listed twice, never
   * missed.
   */
  async masters(): Promise<Masters> {
    if (!(this.client instanceof Cluster)) return { nodes: [this.client], fingerprint: "" };
    const cluster = this.client;
    await this.ready();
    const first = new Map<string, number>();
    const ranges: string[] = [];
    let owner: string | undefined;
    for (let slot = 0; slot < cluster.slots.length; slot++) {
      const node = cluster.slots[slot]?.[0] ?? "";
      if (!first.has(node)) first.set(node, slot);
      if (node !== owner) ranges.push(`${slot}=${node}`);
      owner = node;
    }
    const byKey = new Map(cluster.nodes("master").map((n) => [`${n.options.host}:${n.options.port}`, n]));
    const nodes = [...first.entries()]
      .sort((a, b) => a[1] - b[1])
      .map(([key]) => byKey.get(key))
      .filter((n): n is Redis => n !== undefined);
    const fingerprint = createHash("sha1").update(ranges.join(",")).digest("hex").slice(0, 12);
    return { nodes, fingerprint };
  }
}
