/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never passed on, in either direction.
 * undici refuses some of them outright (transfer-encoding, keep-alive, upgrade).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Not copied onto a forwarded request: hop-by-hop, and what the HTTP client sets itself for the new connection. */
export const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'expect', 'host', 'content-length']);

/** Not copied from the app's answer onto the sender's (--passthrough): hop-by-hop, and the framing node writes. */
export const NOT_RELAYED_BACK: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'content-length']);

export function headerValue(headers: [string, string][], name: string): string | undefined {
  const lower = name.toLowerCase();
  // Lengths first: lower-casing every header name for every look-up showed in the instruction counts.
  for (const [k, v] of headers) if (k.length === lower.length && (k === lower || k.toLowerCase() === lower)) return v;
  return undefined;
}

/** Pairs from node's flat rawHeaders array. */
export function pairHeaders(raw: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}
