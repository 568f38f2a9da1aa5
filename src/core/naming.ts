import type { DecodedBody } from './body.js';

/** A provider's own header names its events better than any body field (GitHub's body `action` is a sub-name). */
const PROVIDER_HEADERS = ['x-github-event', 'x-gitea-event', 'x-gogs-event', 'x-gitlab-event', 'x-shopify-topic', 'x-event-key', 'x-wc-webhook-topic'];
const GENERIC_HEADERS = ['x-event-type', 'x-webhook-event', 'x-hook-event', 'x-twilio-event'];
const NAME_FIELDS = ['event', 'type', 'eventType', 'event_type'];
const NAME_HEADER_SET = new Set([...PROVIDER_HEADERS, ...GENERIC_HEADERS]);

const nameLike = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;

/**
 * The event's name: a provider's header (GitHub's with the body's `action` as a suffix, `check_run.created`, as
 * GitHub's own libraries name them), else a body field (`event`, `type`, `eventType`, `event_type`), else a generic
 * header, else the body's `action` alone; null when nothing names it.
 */
export function detectEventName(headers: [string, string][], decoded: DecodedBody): string | null {
  const value = decoded.value;
  const record =
    (decoded.kind === 'json' || decoded.kind === 'form') && value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  // One pass over the headers for all the names that could name the event.
  const found = new Map<string, string>();
  for (const [k, v] of headers) {
    if (k.length < 10 || k.length > 19 || (k[0] !== 'x' && k[0] !== 'X')) continue;
    const lower = k.toLowerCase();
    if (NAME_HEADER_SET.has(lower) && v && !found.has(lower)) found.set(lower, v);
  }
  for (const h of PROVIDER_HEADERS) {
    const v = found.get(h);
    if (!v) continue;
    const action = record?.action;
    return h === 'x-github-event' && nameLike(action) ? `${v}.${action}` : v;
  }
  if (record) for (const field of NAME_FIELDS) if (nameLike(record[field])) return record[field];
  for (const h of GENERIC_HEADERS) {
    const v = found.get(h);
    if (v) return v;
  }
  return record && nameLike(record.action) ? record.action : null;
}

/** Whether `name` is one of `names` (given lower-cased): case-insensitive, and `check_run` matches `check_run.created`. */
export function nameMatches(names: Set<string>, name: string | null): boolean {
  if (!name) return false;
  const lower = name.toLowerCase();
  const dot = lower.indexOf('.');
  return names.has(lower) || (dot > 0 && names.has(lower.slice(0, dot)));
}

