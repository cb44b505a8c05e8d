/** Bounded parallelism for Node-side code (activities, the OpenStack client). Pure; not for workflow code. */

/**
 * Runs `fn` over `items`, at most `limit` at a time, results in input order. Fail-fast and
 * settle-all: after the first failure (or once `signal` aborts) nothing new starts, every call
 * already running is awaited, then the first error is thrown — so a caller never returns while a
 * call it started may still create something.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure && !signal?.aborted) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.err;
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
  return out;
}
