/** The most keys or entries the server accepts in one batch call (the server's default `maxBatchSize`). */
export const maxBatchSize = 1000;

/**
 * How many batch calls of one operation run at once. Enough to hide round
 * trips for a few thousand keys without flooding the server (or a function
 * runtime's socket budget) when a caller passes a huge array.
 */
export const batchConcurrency = 4;

/**
 * Splits `items` into chunks of `size`, runs `fn` on each with at most
 * `concurrency` running at once, and returns the results in chunk order.
 * The first failure rejects the whole call; chunks already sent stay sent.
 *
 * @param items the items to split.
 * @param size the largest chunk.
 * @param concurrency the most chunks in flight.
 * @param fn the call for one chunk.
 */
export async function mapChunks<T, R>(
  items: readonly T[],
  size: number,
  concurrency: number,
  fn: (chunk: readonly T[]) => Promise<R>,
): Promise<R[]> {
  const chunks: (readonly T[])[] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  const results: R[] = new Array<R>(chunks.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    // Stop picking up chunks after a failure; the caller is told anyway.
    while (!failed && next < chunks.length) {
      const index = next++;
      try {
        results[index] = await fn(chunks[index] ?? []);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  return results;
}
