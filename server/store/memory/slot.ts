/**
 * The shapes the memory store keeps entries in, and the pure helpers on
 * them; the store's logic is in memory-store.ts.
 */

import type { Entry, StoredValue } from "../store.js";

/** A rough per-entry overhead, so that many tiny entries still count. */
const entryOverheadBytes = 96;

/** One namespace of entries. */
export interface Namespace {
  readonly name: string;
  readonly entries: Map<string, Slot>;
  /** The version sequence; never resets, so versions never repeat. */
  seq: number;
  /** Creation order, for stable Keys cursors. */
  created: number;
}

/** One entry, linked into the store-wide LRU list. */
export interface Slot {
  readonly ns: Namespace;
  readonly key: string;
  readonly position: number;
  value: StoredValue;
  bytes: number;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | undefined;
  lastReadAt: number | undefined;
  version: number;
  /** LRU neighbours: `newer` toward the head, `older` toward the tail. */
  newer: Slot | undefined;
  older: Slot | undefined;
}

/** Whether an entry has expired by `now`. */
export function isExpired(slot: Slot, now: number): boolean {
  return slot.expiresAt !== undefined && slot.expiresAt <= now;
}

/** What an entry counts against maxBytes. */
export function sizeOf(key: string, value: StoredValue): number {
  const valueBytes = value.kind === "json" ? Buffer.byteLength(value.json) : value.binary.byteLength;
  return Buffer.byteLength(key) + valueBytes + entryOverheadBytes;
}

/**
 * Copies binary values: a decoded request's bytes are a view into its whole
 * request buffer, which must not stay alive as long as the entry.
 */
export function own(value: StoredValue): StoredValue {
  return value.kind === "binary" ? { kind: "binary", binary: value.binary.slice() } : value;
}

/** An entry as the Store interface hands it out. */
export function toEntry(slot: Slot): Entry {
  return {
    value: slot.value,
    meta: {
      createdAt: slot.createdAt,
      updatedAt: slot.updatedAt,
      expiresAt: slot.expiresAt,
      lastReadAt: slot.lastReadAt,
      version: slot.version,
    },
  };
}
