// cluster-key-slot (the slot calculator ioredis itself uses) ships no types.
declare module "cluster-key-slot" {
  /** The Redis Cluster hash slot of a key, with Redis' hash tag rule. */
  export default function calculateSlot(key: string | Buffer): number;
}
