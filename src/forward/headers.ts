import type { WebhookEvent } from '../core/event.js';
import { NOT_FORWARDED, headerValue } from '../core/headers.js';

/**
 * The headers sent to the app: the sender's, minus hop-by-hop ones, plus forwarding and id headers, then `extra`
 * (which replaces a header of the same name: --header, or the replay mark). A flat list.
 */
export function forwardHeaders(event: WebhookEvent, extra: [string, string][] = []): string[] {
  const replaced = new Set(extra.map(([k]) => k.toLowerCase()));
  const named = new Set(
    (headerValue(event.headers, 'connection') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [k, v] of event.headers) {
    const lower = k.toLowerCase();
    // A sender cannot pass its request off as a replay: that mark is ours to add.
    if (NOT_FORWARDED.has(lower) || named.has(lower) || replaced.has(lower) || lower === 'webhook-listen-replay') continue;
    if (lower === 'x-forwarded-for' || lower === 'x-forwarded-host' || lower === 'x-forwarded-proto') {
      seen.add(lower);
      if (lower === 'x-forwarded-for' && event.remoteAddress) {
        out.push(k, `${v}, ${event.remoteAddress}`);
        continue;
      }
    }
    if (lower === 'webhook-listen-event-id') {
      // An event id from a webhook-listen up the line: kept as a hop, so a listener that sees its own id comes back
      // (A → B → A) knows it is a loop.
      out.push('Webhook-Listen-Via', v);
      continue;
    }
    out.push(k, v);
  }
  if (!seen.has('x-forwarded-for') && event.remoteAddress) out.push('X-Forwarded-For', event.remoteAddress);
  const host = headerValue(event.headers, 'host');
  if (!seen.has('x-forwarded-host') && host) out.push('X-Forwarded-Host', host);
  if (!seen.has('x-forwarded-proto')) out.push('X-Forwarded-Proto', 'http');
  out.push('Webhook-Listen-Event-Id', event.id);
  for (const [k, v] of extra) out.push(k, v);
  return out;
}

