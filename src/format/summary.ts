import { type BodyKind, type DecodedBody, decodeBody } from '../core/body.js';
import { formatSize } from '../core/size.js';
import { type DeliveryResult, type WebhookEvent } from '../core/event.js';
import { type PlatformParts, platformParts } from './platform.js';

/** Everything a one-line view of an event needs; shared by the terminal, `events` and the inspector. */
export interface Summary {
  time: string;
  name: string | null;
  method: string;
  path: string;
  size: number;
  kind: BodyKind;
  /** Content-Encoding that was undone to read the body. */
  encoding?: string;
  /** A charset other than UTF-8 the text was read in. */
  charset?: string;
  platform?: PlatformParts;
  /** A compact single-line look at the body, for events that are not the platform's. */
  preview?: string;
  /** Why the event was not forwarded. */
  note?: string;
  /** The signature check, when secrets were given (--secret). */
  signature?: { scheme: string; valid: boolean; reason?: string };
  /** Came through a relay that passed the parsed body only (smee.io): the bytes are not the sender's. */
  reserialised?: true;
  /** What a binary body is, by its Content-Type: `image/png`, `application/pdf`… */
  media?: string;
}

const PREVIEW_CHARS = 400;

let lastClock = { second: '', clock: '' };

/** HH:MM:SS in local time; the same second is formatted once (every event of a burst shares it). */
export function formatClock(iso: string): string {
  const second = iso.slice(0, 19);
  if (second === lastClock.second && second.length === 19) return lastClock.clock;
  const clock = clockOf(iso);
  lastClock = { second, clock };
  return clock;
}

function clockOf(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '--:--:--';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function preview(decoded: DecodedBody): string | undefined {
  if (decoded.text === undefined) return undefined;
  // The raw text, whitespace folded: no re-serialising, so huge or deeply nested bodies cost nothing extra.
  return decoded.text.slice(0, PREVIEW_CHARS * 2).replace(/\s+/g, ' ').trim().slice(0, PREVIEW_CHARS);
}

const NOTES: Record<NonNullable<WebhookEvent['rejected']>, string> = {
  'too-large': '413 body over --max-body, not forwarded',
  filtered: 'filtered by --events, not forwarded',
  aborted: 'sender aborted mid-body, not forwarded',
  'too-slow': '408 body too slow through the tunnel, not forwarded',
  loop: '508 forward loop (it carried an event id of this listener), not forwarded',
};

/** The one-line view of an event, built once, with its signature check when there was one. */
export function summarize(event: WebhookEvent, decoded: DecodedBody = decodeBody(event), signature?: Summary['signature']): Summary {
  const summary: Summary = {
    time: formatClock(event.receivedAt),
    name: event.name,
    method: event.method,
    path: event.path,
    size: event.size,
    kind: decoded.kind,
  };
  if (decoded.encoding) summary.encoding = decoded.encoding;
  if (decoded.kind === 'binary') {
    const type = /^\s*([a-z]+\/[a-z0-9.+-]+)/i.exec(event.headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '')?.[1]?.toLowerCase();
    // Only types that are binary by nature: a JSON or text body that could not be read (a gzip bomb) stays `binary`.
    if (type && /^(image|audio|video|font)\/|^application\/(?!octet-stream|json|xml|x-www-form-urlencoded|javascript|.*\+(json|xml))/.test(type)) summary.media = type;
  }
  if (decoded.charset) summary.charset = decoded.charset;
  if (event.rejected) summary.note = NOTES[event.rejected];
  const platform = decoded.kind === 'json' ? platformParts(decoded.value) : null;
  if (platform) summary.platform = platform;
  else {
    const p = (decoded.kind === 'json' && providerLine(event, decoded.value)) || preview(decoded);
    if (p) summary.preview = p;
  }
  if (signature) summary.signature = signature;
  if (event.via?.reserialised) summary.reserialised = true;
  return summary;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/**
 * A short line for well-known senders instead of a raw preview: GitHub (repository, actor, the pull request or issue,
 * the ref), Stripe (the object's type and id), Standard Webhooks (the data's id).
 */
function providerLine(event: WebhookEvent, value: unknown): string | undefined {
  const body = obj(value);
  if (!body) return undefined;
  if (event.headers.some(([k]) => k.toLowerCase() === 'x-github-event')) {
    const repo = str(obj(body.repository)?.full_name) ?? str(obj(body.organization)?.login);
    const actor = str(obj(body.sender)?.login);
    const item = obj(body.pull_request) ?? obj(body.issue);
    // Checks and workflows: which one, and how it ended (or where it is).
    const run = obj(body.check_run) ?? obj(body.workflow_run) ?? obj(body.check_suite);
    const outcome = run && [str(run.name) ?? str(obj(run.app)?.name), str(run.conclusion) ?? str(run.status)].filter(Boolean).join(' ');
    const parts = [repo, outcome || undefined, item ? `#${str(item.number) ?? '?'} ${str(item.title) ?? ''}`.trim() : undefined, str(body.ref), actor && `by ${actor}`];
    const line = parts.filter(Boolean).join(' · ');
    return line || undefined;
  }
  const data = obj(body.data);
  if (body.object === 'event' && data) {
    // As `stripe listen` shows it: the event's id, then what it is about.
    const object = obj(data.object);
    return [str(body.id), object ? `${str(object.object) ?? 'object'} ${str(object.id) ?? ''}`.trim() : undefined].filter(Boolean).join(' · ') || undefined;
  }
  if (str(body.type) && data && str(data.id) && str(body.timestamp)) return `data ${str(data.id)}`;
  return undefined;
}

export function kindLabel(s: Pick<Summary, 'kind' | 'encoding' | 'charset' | 'media'>): string {
  const label = s.kind === 'invalid-json' ? 'invalid JSON' : s.media ? mediaLabel(s.media) : s.kind;
  const notes = [s.encoding, s.charset].filter(Boolean);
  return notes.length ? `${label} (${notes.join(', ')})` : label;
}

/** `image/png` → `image (png)`; `application/pdf` → `pdf`. */
function mediaLabel(type: string): string {
  const [top, sub] = type.split('/') as [string, string];
  return top === 'application' ? sub : `${top} (${sub})`;
}

/** The summary's pieces in display order, each tagged with its role so a view can style it. */
export type Piece = { role: 'time' | 'ref' | 'name' | 'channel' | 'sender' | 'agent' | 'content' | 'context' | 'request' | 'kind' | 'preview' | 'note' | 'sig-ok' | 'sig-bad'; text: string };

/**
 * Where a summary keeps its pieces and plain text once made (the store's search text, the printed line and the
 * inspector all ask for them). A symbol: JSON.stringify and Object.keys do not see it. Set every field of a summary
 * before the first of these calls.
 */
const PIECES = Symbol('pieces');
const TEXT = Symbol('text');
type Made = Summary & { [PIECES]?: readonly Piece[]; [TEXT]?: string };

/** The summary's pieces (shared: do not change them). */
export function summaryPieces(s: Summary): readonly Piece[] {
  return ((s as Made)[PIECES] ??= makePieces(s));
}

function makePieces(s: Summary): Piece[] {
  const pieces: Piece[] = [{ role: 'time', text: s.time }];
  if (s.name) pieces.push({ role: 'name', text: s.name });
  const p = s.platform;
  if (p) {
    if (s.method !== 'POST') pieces.push({ role: 'request', text: `${s.method} ${s.path}` });
    if (p.channel) pieces.push({ role: 'channel', text: p.channel });
    if (p.sender !== undefined || p.content !== undefined) {
      const who = p.sender ?? 'unknown sender';
      pieces.push({ role: p.agent ? 'agent' : 'sender', text: p.agent ? `${who} (agent):` : `${who}:` });
      pieces.push({ role: 'content', text: p.content ?? '(no content)' });
    }
    if (p.context) pieces.push({ role: 'context', text: p.context });
    // The platform's line shows no body kind; an encoding undone to read it is still worth a glance.
    if (s.encoding) pieces.push({ role: 'kind', text: s.encoding });
  } else {
    pieces.push({ role: 'request', text: `${s.method} ${s.path}` });
    pieces.push({ role: 'kind', text: s.kind === 'empty' ? 'empty' : `${kindLabel(s)} ${formatSize(s.size)}` });
    if (s.preview) pieces.push({ role: 'preview', text: s.preview });
  }
  if (s.signature) pieces.push(s.signature.valid ? { role: 'sig-ok', text: 'sig ✓' } : { role: 'sig-bad', text: `sig ✗ ${s.signature.reason}` });
  if (s.note) pieces.push({ role: 'note', text: s.note });
  if (s.reserialised) pieces.push({ role: 'note', text: 're-serialised by the relay' });
  return pieces;
}

/** Joins pieces into one line: two spaces between pieces, one after the sender's name. */
export function joinPieces(pieces: readonly Piece[], paint?: (p: Piece) => string): string {
  let line = '';
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (i > 0) {
      const prev = pieces[i - 1]!.role;
      line += prev === 'sender' || prev === 'agent' ? ' ' : '  ';
    }
    line += paint ? paint(p) : p.text;
  }
  return line;
}

/** The summary as plain text: what `events` lists and the inspector shows. */
export function summaryText(s: Summary): string {
  return ((s as Made)[TEXT] ??= joinPieces(summaryPieces(s)));
}

/** The outcome of an event's deliveries in a word or two: `200`, `pending`, `ECONNREFUSED`, `filtered`… */
export function deliveryStatus(event: Pick<WebhookEvent, 'targets' | 'rejected'>, deliveries: DeliveryResult[]): string {
  if (event.rejected === 'filtered') return 'filtered';
  if (event.rejected === 'too-large') return '413';
  if (event.rejected === 'aborted') return 'aborted';
  if (event.rejected === 'too-slow') return '408';
  if (event.rejected === 'loop') return '508 loop';
  const targets = event.targets ?? [];
  if (targets.length === 0) {
    const last = deliveries.at(-1);
    return last ? `${last.replay ? 'replayed ' : ''}${last.status ?? last.error}` : 'not forwarded';
  }
  // The event's own deliveries decide: a replay (maybe edited) is an attempt of its own, not the event's outcome.
  return targets
    .map((t) => {
      const mine = deliveries.filter((d) => d.target === t && !d.replay);
      const last = mine.at(-1);
      if (!last) return 'pending';
      const outcome = last.status !== undefined ? String(last.status) : (last.error ?? 'error');
      return last.final || last.replay ? outcome : `pending (${outcome}, ${mine.length} ${mine.length === 1 ? 'attempt' : 'attempts'})`;
    })
    .join(', ');
}
