/**
 * Reading device after device while computing: the KPI services read one device at a time (so
 * memory stays bounded whatever the fleet), and the store answers in its own threads, so the read
 * of the next device can run while this thread computes the figures of the current one.
 */

/**
 * `[item, await read(item)]` for each item in order, the read of the next item started before the
 * current one is handed out: at most two reads are held at once. A failed read is thrown where its
 * item would have been handed out.
 */
export async function* prefetched<T, R>(
  items: readonly T[],
  read: (item: T) => Promise<R>,
): AsyncGenerator<readonly [T, R]> {
  let next = items.length > 0 ? read(items[0] as T) : undefined;
  for (let i = 0; i < items.length; i++) {
    const current = next as Promise<R>;
    next = i + 1 < items.length ? read(items[i + 1] as T) : undefined;
    // Awaited on the next turn; if the caller stops before, its failure must not go unhandled.
    next?.catch(() => undefined);
    yield [items[i] as T, await current] as const;
  }
}
