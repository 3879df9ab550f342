/**
 * Cuts a page before the item that would take its JSON past `maxBytes` (at least one item is kept),
 * and points next_cursor at the last item kept, so nothing is skipped.
 */
export function boundedPage<T extends { id: string }>(
  items: T[],
  nextCursor: string | null,
  maxBytes: number,
  cursorAfter: (item: T) => string = (item) => item.id,
): { items: T[]; next_cursor: string | null } {
  let bytes = 0;
  for (const [i, item] of items.entries()) {
    bytes += Buffer.byteLength(JSON.stringify(item));
    if (bytes > maxBytes && i > 0) return { items: items.slice(0, i), next_cursor: cursorAfter(items[i - 1]!) };
  }
  return { items, next_cursor: nextCursor };
}
