/**
 * Keeps an insertion-ordered `Set` or `Map` to at most `max` entries by deleting the oldest —
 * for memories that only need recent entries (late votes, recent invalid batches, …).
 */
export function dropOldest(collection: Set<unknown> | Map<unknown, unknown>, max: number): void {
  for (const key of collection.keys()) {
    if (collection.size <= max) return;
    collection.delete(key);
  }
}
