/** One HTTP request as it reached the listener: the unit every part of the tool shares. */
export interface WebhookEvent {
  id: string;
  receivedAt: string;
  method: string;
  /** The request-target exactly as sent (path plus query). */
  url: string;
  path: string;
  query: string;
  /** Raw header pairs, case and order kept. */
  headers: [string, string][];
  body: Buffer;
  /** Bytes the sender declared or sent; differs from body.length only when the body was refused. */
  size: number;
  remoteAddress: string;
  name: string | null;
  /** Forward targets this event was (or will be) delivered to. */
  targets: string[];
  /**
   * Why the event was not forwarded, when it was not: too large, filtered out by --events, cut off mid-body by the
   * sender (aborted) or by the tunnel's body deadline (too-slow), or a forward loop (it carried our own event id).
   */
  rejected?: 'too-large' | 'filtered' | 'aborted' | 'too-slow' | 'loop';
  /** Came through a webhook relay's channel (--relay), not to the listener: which relay, and how it passed it on. */
  via?: RelayVia;
  /** The store's number for it, once stored: `#1234` in every view (typed after one glance, unique in its store). */
  seq?: number;
}

export interface RelayVia {
  relay: 'smee' | 'gosmee';
  /** The channel's URL: where the provider sends. */
  channel: string;
  /** The relay's id for the message (gosmee with Redis: a stream id, the resume point). */
  relayId?: string;
  /** The provider's id for the delivery (X-GitHub-Delivery, webhook-id…), to store a redelivery once. */
  deliveryId?: string;
  /** The relay passed the parsed body only (smee.io): the bytes are JSON.stringify's, and body signatures fail. */
  reserialised: boolean;
}

/** How a person refers to a stored event: `#1234` (its seq), or the start of its id before it is stored. */
export const shortRef = (e: { id: string; seq?: number }): string => (e.seq !== undefined ? `#${e.seq}` : e.id.slice(0, 12));

/** `#1234` or `1234` (no leading 0): an event's number in its store, not the start of an id. */
export function refSeq(text: string): number | undefined {
  const m = /^#?([1-9]\d{0,15})$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** Splits a request-target into path and query without throwing on odd input. */
export function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** The stored form of an event: the body as base64, everything else as is. */
export interface StoredEvent extends Omit<WebhookEvent, 'body'> {
  bodyBase64: string;
}

export function toStored(e: WebhookEvent): StoredEvent {
  // Field by field: a rest-spread cost 3 µs per event here, on the path every event takes.
  const stored: StoredEvent = {
    id: e.id,
    receivedAt: e.receivedAt,
    method: e.method,
    url: e.url,
    path: e.path,
    query: e.query,
    headers: e.headers,
    size: e.size,
    remoteAddress: e.remoteAddress,
    name: e.name,
    targets: e.targets,
    bodyBase64: '',
  };
  if (e.rejected) stored.rejected = e.rejected;
  if (e.via) stored.via = e.via;
  if (e.seq !== undefined) stored.seq = e.seq;
  stored.bodyBase64 = e.body.toString('base64');
  return stored;
}
// A field added to WebhookEvent and forgotten above fails to compile here.
type Unstored = Exclude<keyof WebhookEvent, 'body' | keyof StoredEvent>;
const everyFieldStored: [Unstored] extends [never] ? true : never = true;
void everyFieldStored;

export function fromStored(stored: StoredEvent): WebhookEvent {
  const { bodyBase64, ...rest } = stored;
  return { ...rest, body: Buffer.from(bodyBase64 ?? '', 'base64') };
}

/** What the store keeps to list and search an event without reading its body: its summary (JSON) and searched text. */
export interface EventDescription {
  summary: string;
  text: string;
}

/** Which stored event a queued delivery is for, so it can be read back instead of kept in memory. */
export interface EventLocation {
  id: string;
}

export interface AppResponse {
  headers: [string, string][];
  body?: string;
  bodyBase64?: string;
  /** The body's full size in bytes. */
  size: number;
  /** Only the first RESPONSE_KEEP bytes were kept. */
  truncated?: boolean;
}

/** How much of an app's answer is kept with each delivery attempt. */
export const RESPONSE_KEEP = 64_000;

/** What happened when one event was sent to one target once. */
export interface DeliveryResult {
  eventId: string;
  target: string;
  /** The full URL the request went to. */
  url: string;
  method: string;
  attempt: number;
  /** Whether this is the last attempt for this event and target. */
  final: boolean;
  status?: number;
  /** A short error code (ECONNREFUSED, TIMEOUT…) when no HTTP answer came. */
  error?: string;
  /** One line a person can act on. */
  message?: string;
  durationMs: number;
  /** When the next attempt goes out, if one will. */
  retryInMs?: number;
  replay?: boolean;
  /** A replay whose body or headers were edited first (in the inspector). */
  edited?: boolean;
  /** What an edited replay sent (the event keeps what was received): its headers and body, base64. */
  sent?: { headers: [string, string][]; bodyBase64: string };
  /** What the app answered: headers, and the body's first 64 KB (text, or base64 when not UTF-8) with its full size. */
  response?: AppResponse;
  at: string;
}
