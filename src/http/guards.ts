import type { IncomingMessage } from 'node:http';

/**
 * A browser's request from another site: webhook senders send neither Sec-Fetch-Site nor an Origin, a page does. The
 * answer is why, or undefined for a request to accept.
 */
export function crossSite(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `a browser request from another site (Sec-Fetch-Site: ${site})`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  let host = '';
  try {
    host = new URL(origin).host;
  } catch {
    // "null" (sandboxed pages, file:) or garbage: not this listener's page either.
  }
  return host && host === req.headers.host ? undefined : `a browser request from another site (Origin: ${origin.slice(0, 100)})`;
}

/** Paths no webhook may use: the inspector's namespace is never served on the listener. */
export const RESERVED = '/_webhook-listen';

export function matchesPath(want: string, path: string): boolean {
  const trim = (p: string): string => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);
  return trim(want) === trim(path);
}

