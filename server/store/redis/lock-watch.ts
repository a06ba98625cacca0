import type { Cluster, Redis } from "ioredis";
import { LarderError } from "../../core/errors.js";

/** Options of {@link ReleaseSubscriber}. */
export interface ReleaseSubscriberOptions {
  /** Opens the dedicated subscriber connection; called on the first watch only. */
  open: () => Redis | Cluster;
  /** How long a SUBSCRIBE may take before the watch fails as unavailable. */
  timeoutMs: number;
  /**
   * How long a channel stays subscribed after its last watcher left, so that
   * a namespace whose locks are busy does not SUBSCRIBE and UNSUBSCRIBE
   * around every wait. Default 30 s.
   */
  lingerMs?: number;
}

interface Channel {
  readonly listeners: Set<(name: string) => void>;
  /** Settles when Redis confirmed the SUBSCRIBE; undefined until asked. */
  subscribed: Promise<void> | undefined;
  linger: NodeJS.Timeout | undefined;
}

/**
 * The one pub/sub connection a Redis store shares among all its lock
 * waiters: it subscribes to a namespace's release channel while someone in
 * this process waits for one of its locks, and fans the messages out.
 *
 * A connection in subscriber mode can run no other command, hence its own;
 * one per store rather than per waiter, so a thousand waiters cost Redis one
 * client. ioredis re-subscribes by itself after a reconnection; releases
 * published while it was away are lost, which the waiters' bounded polling
 * covers.
 */
export class ReleaseSubscriber {
  private conn: Redis | Cluster | undefined;
  private readonly channels = new Map<string, Channel>();
  private readonly lingerMs: number;
  private closed = false;

  /** @param options how to connect, and timing. */
  constructor(private readonly options: ReleaseSubscriberOptions) {
    this.lingerMs = options.lingerMs ?? 30_000;
  }

  /**
   * Calls `listener` with each message on `channel` until the returned
   * function is called. Resolves once the channel is subscribed.
   */
  async watch(channel: string, listener: (name: string) => void): Promise<() => void> {
    if (this.closed) throw new LarderError("unavailable", "backend unavailable: the store is closed");
    const state = this.channel(channel);
    // A wrapper, so that the same listener watching twice is two watchers.
    const entry = (name: string): void => listener(name);
    state.listeners.add(entry);
    clearTimeout(state.linger);
    state.linger = undefined;
    const unwatch = (): void => this.unwatch(channel, state, entry);
    try {
      state.subscribed ??= this.subscribe(channel);
      await state.subscribed;
    } catch (err) {
      // Forget the failed attempt, so that the next watcher tries again.
      if (this.channels.get(channel) === state) state.subscribed = undefined;
      unwatch();
      throw err;
    }
    return unwatch;
  }

  /** Drops the connection; watchers hear nothing more. */
  close(): void {
    this.closed = true;
    for (const state of this.channels.values()) clearTimeout(state.linger);
    this.channels.clear();
    this.conn?.disconnect();
  }

  private channel(name: string): Channel {
    let state = this.channels.get(name);
    if (state === undefined) {
      state = { listeners: new Set(), subscribed: undefined, linger: undefined };
      this.channels.set(name, state);
    }
    return state;
  }

  private connection(): Redis | Cluster {
    if (this.conn === undefined) {
      const conn = this.options.open();
      // Without a listener, connection errors would crash the process; the
      // main connection already reports them.
      conn.on("error", () => {});
      conn.on("message", (channel: string, message: string) => {
        for (const listener of this.channels.get(channel)?.listeners ?? []) {
          try {
            listener(message);
          } catch {
            // One faulty watcher must not deafen the others.
          }
        }
      });
      this.conn = conn;
    }
    return this.conn;
  }

  private async subscribe(channel: string): Promise<void> {
    const conn = this.connection();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LarderError("unavailable", "backend unavailable: redis did not confirm a subscription in time")),
        this.options.timeoutMs,
      );
    });
    try {
      await Promise.race([conn.subscribe(channel), timeout]);
    } catch (err) {
      if (err instanceof LarderError) throw err;
      throw new LarderError("unavailable", "backend unavailable: cannot subscribe to lock releases");
    } finally {
      clearTimeout(timer);
    }
  }

  private unwatch(channel: string, state: Channel, entry: (name: string) => void): void {
    state.listeners.delete(entry);
    if (state.listeners.size > 0 || this.closed || state.linger !== undefined) return;
    state.linger = setTimeout(() => {
      state.linger = undefined;
      if (state.listeners.size > 0 || this.channels.get(channel) !== state) return;
      this.channels.delete(channel);
      if (state.subscribed !== undefined) this.conn?.unsubscribe(channel).catch(() => {});
    }, this.lingerMs);
    state.linger.unref();
  }
}
