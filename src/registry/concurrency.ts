/**
 * Runs `fn` over `items` with at most `limit` calls in flight; resolves to the results in input order.
 * The first rejection rejects the whole call (calls already started are allowed to finish; no new ones start).
 */
export async function mapLimit<T, R>(items: Iterable<T>, limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const list = Array.from(items);
  const results = new Array<R>(list.length);
  const n = Math.max(1, Math.min(Math.floor(limit) || 1, list.length));
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < list.length) {
      const i = next++;
      try {
        results[i] = await fn(list[i] as T, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}
