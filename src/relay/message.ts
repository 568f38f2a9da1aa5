import { HOP_BY_HOP, headerValue } from '../core/headers.js';
import type { SseMessage } from './sse.js';

export type RelayKind = 'smee' | 'gosmee';

/** A webhook as a relay passed it on: what becomes a WebhookEvent. */
export interface Relayed {
  headers: [string, string][];
  body: Buffer;
  /** The relay gave the parsed body only (smee.io): these bytes are JSON.stringify's, not the sender's. */
  reserialised: boolean;
  /** The query string of the relay's POST (smee.io passes it), without `?`. */
  query: string;
  /** The provider's own id for this delivery, when it has one: the same webhook sent twice is stored once. */
  deliveryId?: string;
}

export type RelayItem =
  | { kind: 'webhook'; webhook: Relayed }
  | { kind: 'control'; what: 'ready' | 'ping' | 'connected' }
  /** gosmee: the id asked to resume from is older than what the server keeps. */
  | { kind: 'gap'; detail: string }
  | { kind: 'refused'; reason: string };

/** Keys of a relay's message that are not the sender's headers. */
const NOT_HEADERS = new Set(['body', 'bodyB', 'query', 'timestamp']);

/**
 * Headers the relay added or that no longer hold for the bytes we pass on: the relay's own hop (host, framing,
 * compression it undid, proxies in front of it). The provider's own (x-github-*, stripe-signature, webhook-id…) stay.
 */
export const ADDED_BY_RELAY: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'accept-encoding',
  'content-encoding',
  'forwarded',
  'via',
  'x-real-ip',
  'x-request-id',
  'cdn-loop',
  'true-client-ip',
]);

const isAdded = (name: string): boolean => ADDED_BY_RELAY.has(name) || name.startsWith('x-forwarded-') || name.startsWith('cf-');

/** Turns one message of a smee.io or gosmee stream into what it means. Never throws. */
export function readRelayMessage(m: SseMessage, maxBody: number): RelayItem {
  if (m.event === 'ready' || m.event === 'ping') return { kind: 'control', what: m.event };
  if (m.event === 'gosmee-gap') return { kind: 'gap', detail: m.data.slice(0, 300) };
  let payload: unknown;
  try {
    payload = JSON.parse(m.data);
  } catch {
    return { kind: 'refused', reason: `not JSON: ${JSON.stringify(m.data.slice(0, 60))}` };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { kind: 'refused', reason: 'not a JSON object' };
  const p = payload as Record<string, unknown>;
  const message = p.message;
  if ((message === 'connected' || message === 'ready') && !('body' in p) && !('bodyB' in p)) return { kind: 'control', what: message };
  const body = bodyOf(p, maxBody);
  if ('refused' in body) return { kind: 'refused', reason: body.refused };
  const headers = headersOf(p);
  if (typeof headers === 'string') return { kind: 'refused', reason: headers };
  if (body.reserialised && !headerValue(headers, 'content-type')) headers.push(['content-type', 'application/json']);
  const webhook: Relayed = { headers, body: body.bytes, reserialised: body.reserialised, query: queryOf(p.query) };
  const deliveryId = deliveryIdOf(headers, body.bytes);
  if (deliveryId) webhook.deliveryId = deliveryId;
  return { kind: 'webhook', webhook };
}

function bodyOf(p: Record<string, unknown>, maxBody: number): { bytes: Buffer; reserialised: boolean } | { refused: string } {
  if (typeof p.bodyB === 'string') {
    // base64 is 4 bytes for 3: anything longer cannot decode to a body within the limit.
    if (p.bodyB.length > Math.ceil(maxBody / 3) * 4 + 4) return { refused: `a body over --max-body (${maxBody} bytes)` };
    return { bytes: Buffer.from(p.bodyB, 'base64'), reserialised: false };
  }
  if (!('body' in p)) return { refused: 'no body in the message (neither bodyB nor body)' };
  // What smee.io's own client sends: the parsed body, serialised again.
  const text = JSON.stringify(p.body) ?? '';
  if (Buffer.byteLength(text) > maxBody) return { refused: `a body over --max-body (${maxBody} bytes)` };
  return { bytes: Buffer.from(text), reserialised: true };
}

function headersOf(p: Record<string, unknown>): [string, string][] | string {
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(p)) {
    if (NOT_HEADERS.has(name)) continue;
    const lower = name.toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]{1,256}$/.test(lower)) return `a header name HTTP does not allow (${JSON.stringify(name.slice(0, 40))})`;
    if (isAdded(lower)) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v !== 'string' && typeof v !== 'number') return `the header ${lower} is not a string`;
      const text = String(v);
      if (/[\0\r\n]/.test(text)) return `the header ${lower} holds a line break`;
      headers.push([lower, text]);
    }
  }
  return headers;
}

function queryOf(query: unknown): string {
  if (typeof query !== 'object' || query === null) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, String(one));
  return params.toString();
}

/** The provider's id for one delivery: GitHub's, Standard Webhooks' (Svix), or a Stripe event's `evt_…`. */
function deliveryIdOf(headers: [string, string][], body: Buffer): string | undefined {
  for (const name of ['x-github-delivery', 'webhook-id', 'svix-id', 'x-shopify-webhook-id', 'x-gitlab-event-uuid']) {
    const v = headerValue(headers, name);
    if (v) return `${name}:${v.slice(0, 200)}`;
  }
  if (headerValue(headers, 'stripe-signature')) {
    const m = /^\s*\{\s*"id"\s*:\s*"(evt_[A-Za-z0-9]{1,100})"/.exec(body.subarray(0, 200).toString('latin1'));
    if (m) return `stripe:${m[1]}`;
  }
  return undefined;
}
