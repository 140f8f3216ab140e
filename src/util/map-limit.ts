// Runs an async function over a list with at most `limit` calls in flight, results in list order.
// For fan-out reads against a shared service (a chain source) that must not be flooded.

/**
 * Maps `items` through `fn` with at most `limit` calls pending at once; the results keep the
 * order of `items`. On the first failure no further call starts; the ones already in flight
 * are awaited (nothing is left running behind the caller) and that first error is thrown.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`mapLimit: limit must be a positive integer, got ${limit}`);
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return out;
}
