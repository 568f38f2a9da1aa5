/**
 * One notion of what a search matches, for `events --grep`, the inspector's filter box and its live list alike: the
 * query, trimmed, anywhere in the event's summary line, id or path, without regard to case (Unicode case, not only
 * ASCII's: the store keeps this text lower-cased, so SQLite's ASCII-only LIKE compares lower case with lower case).
 * The page (inspector/page/app.js) does the same for events that arrive live.
 */
export function searchText(summaryLine: string, id: string, path: string): string {
  return `${summaryLine} ${id} ${path}`.toLowerCase();
}

/** The query as compared; empty means "everything". */
export function searchKey(query: string): string {
  return query.trim().toLowerCase();
}
