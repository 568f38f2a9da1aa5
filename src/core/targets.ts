import type { WebhookEvent } from './event.js';

/** Per target: its origin when the incoming path is kept, null when the target is used as given. */
const origins = new Map<string, string | null>();

/** The full URL for one event: a target without a path keeps the incoming path and query. */
export function targetUrl(target: string, event: Pick<WebhookEvent, 'url'>): string {
  let origin = origins.get(target);
  if (origin === undefined) {
    const u = new URL(target);
    const hasPath = u.pathname !== '/' || /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/./i.test(target) || target.includes('?');
    origin = hasPath ? null : u.origin;
    if (origins.size < 100) origins.set(target, origin);
  }
  if (origin === null) return target;
  return `${origin}${event.url.startsWith('/') ? event.url : '/' + event.url}`;
}
