/**
 * Collapses concurrent calls for the same key into one: while a call for a
 * key is running, further calls for that key wait for its result instead of
 * starting their own. Once it settles, the next call starts afresh, so
 * results are shared but never cached here.
 *
 * This only coordinates callers inside one process; across processes, the
 * get-or-compute miss policy is the place for a lock.
 */
export class SingleFlight {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  /**
   * Runs `work` for `key`, or joins the run already in progress.
   *
   * Callers that join get the very same result (or error) as the caller that
   * started the run, including the same object reference.
   *
   * @param key what identifies the work.
   * @param work the work; called at most once per concurrent group.
   */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    // The cast is sound as long as one key always maps to one kind of work,
    // which is the contract of a per-cache, per-key flight.
    if (running !== undefined) return running as Promise<T>;
    // Deferring `work` by a microtask guarantees the entry is registered
    // before the cleanup can run, even if `work` throws synchronously.
    const started: Promise<T> = Promise.resolve()
      .then(work)
      .finally(() => {
        if (this.inFlight.get(key) === started) this.inFlight.delete(key);
      });
    this.inFlight.set(key, started);
    return started;
  }

  /** How many keys have work in progress; for tests and diagnostics. */
  get size(): number {
    return this.inFlight.size;
  }
}
