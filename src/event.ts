// node:crypto and node:zlib are loaded on first use (process.getBuiltinModule, sync), not on the start-up path:
// compiling them cost ~12 ms of a ~200 ms start (BENCHMARKS.md).
const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');
const zlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');

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
}

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
let lastTime = 0;
const lastRandom = new Uint8Array(16);
// Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids, not one per id.
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;

let isoSecond = Number.NaN;
let isoPrefix = '';
/**
 * `new Date(ms).toISOString()`, with the part up to the second formatted once per second: V8's own costs ~6,000
 * instructions a call (a printf per field), the largest single item of an event's cost after parsing its body.
 */
export function isoTime(ms: number): string {
  // Outside the Date range (or not a time): toISOString's own error.
  if (!(Math.abs(ms) <= 8.64e15)) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000) * 1000;
  if (second !== isoSecond) {
    const iso = new Date(second).toISOString();
    if (!iso.endsWith('.000Z')) return new Date(ms).toISOString();
    isoSecond = second;
    isoPrefix = iso.slice(0, -4);
  }
  const milli = ms - second;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** A ULID-style id, lower case: 10 chars of milliseconds, 16 random; monotonic within one process. */
export function newEventId(now = Date.now()): string {
  const head = lastRandom[0]! * 32 + lastRandom[1]!;
  if (now === lastTime && head < 1023) {
    // Same millisecond: the first two random characters go up by one and the rest is drawn again, so ids still sort
    // in the order they were made and differ within the 12 characters a short id shows (the live lines, `pending`).
    // Adding one at the end, as before, gave events of one burst the same short id, which `show` found ambiguous.
    lastRandom[0] = (head + 1) >> 5;
    lastRandom[1] = (head + 1) & 31;
    drawRandom(2);
  } else if (now === lastTime) {
    // Past 1,024 ids in one millisecond: plus one at the end (still in order; their short ids are shared).
    for (let i = 15; i >= 0; i--) {
      if (lastRandom[i]! < 31) {
        lastRandom[i]! += 1;
        break;
      }
      lastRandom[i] = 0;
    }
  } else drawRandom(0);
  if (now !== lastTime) encodeTime(now, ID_BYTES);
  lastTime = now;
  for (let i = 0; i < 16; i++) ID_BYTES[10 + i] = ALPHABET[lastRandom[i]!]!;
  // One flat string from the bytes in one call, not 26 concatenations.
  return ID_BYTES.toString('latin1');
}

/** lastRandom[from..15] drawn anew, 5 random bits each. */
function drawRandom(from: number): void {
  if (poolUsed + 16 > pool.length) {
    crypto().randomFillSync(pool);
    poolUsed = 0;
  }
  for (let i = from; i < 16; i++) lastRandom[i] = pool[poolUsed++]! & 31;
}

/** An event id's length (newEventId). */
export const ID_LENGTH = 26;
/** What newEventId makes (and only that is looked up as an id). */
export const ID_SHAPE = /^[0-9a-z]{26}$/;

/**
 * The last `capacity` ids given out, packed in one buffer, 26 bytes each: for 50,000, 1.3 MB outside the JS heap
 * instead of ~3.4 MB of strings and Set entries inside it for the collector to walk. Ids of one process sort by the
 * time they were made, so a look-up is a binary search (16 comparisons for 50,000); only after the clock went back
 * (an id smaller than the one before) is the buffer scanned, until that id has left it. A look-up is what a request
 * carrying a webhook-listen header pays: a scan of 50,000 ids takes ~160 µs, a search ~2 µs.
 */
export class RecentIds {
  readonly #buf: Buffer;
  /** Where the next id goes; the oldest is here too once the buffer is full. */
  #next = 0;
  #count = 0;
  #last = '';
  /** Ids to add before the buffer is in order again (the one out of order and all before it gone). */
  #unsorted = 0;

  constructor(readonly capacity: number) {
    // Zero-filled and untouched: its pages are real memory only once ids are written into them.
    this.#buf = Buffer.alloc(capacity * ID_LENGTH);
  }

  add(id: string): void {
    if (id.length !== ID_LENGTH) return;
    if (id < this.#last) this.#unsorted = this.capacity;
    else if (this.#unsorted > 0) this.#unsorted--;
    this.#last = id;
    this.#buf.write(id, this.#next * ID_LENGTH, 'latin1');
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
    if (this.#count < this.capacity) this.#count++;
  }

  has(id: string): boolean {
    // Only an id's shape can match: an empty slot is zero bytes, and nothing else is written.
    if (!ID_SHAPE.test(id) || this.#count === 0) return false;
    const buf = this.#buf;
    if (this.#unsorted > 0) {
      for (let at = buf.indexOf(id, 0, 'latin1'); at !== -1; at = buf.indexOf(id, at + 1, 'latin1')) if (at % ID_LENGTH === 0) return true;
      return false;
    }
    const key = Buffer.from(id, 'latin1');
    const oldest = this.#count < this.capacity ? 0 : this.#next;
    let lo = 0;
    let hi = this.#count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = ((oldest + mid) % this.capacity) * ID_LENGTH;
      const c = buf.compare(key, 0, ID_LENGTH, at, at + ID_LENGTH);
      if (c === 0) return true;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

const ALPHABET = Buffer.from(CROCKFORD, 'latin1');
/** The id being made: the time part is rewritten only when the millisecond changes. */
const ID_BYTES = Buffer.alloc(26);

/** Milliseconds as 10 Crockford base-32 characters at the start of `into`, so ids sort by time as text. */
function encodeTime(now: number, into: Buffer): void {
  let t = now;
  for (let i = 9; i >= 0; i--) {
    into[i] = ALPHABET[t % 32]!;
    t = Math.floor(t / 32);
  }
}

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

export type BodyKind = 'empty' | 'json' | 'invalid-json' | 'form' | 'multipart' | 'text' | 'binary';

export interface DecodedBody {
  kind: BodyKind;
  /** Parsed JSON, form fields, or text; absent for binary and empty bodies. */
  value?: unknown;
  text?: string;
  /** Content-Encoding that was undone to read the body (the stored bytes stay as received). */
  encoding?: string;
  /** Set when a Content-Encoding could not be undone. */
  decodeError?: string;
  /** Set when the text is not UTF-8. */
  charset?: string;
}

/**
 * Decoding a compressed body for display is bounded: at most 8 MB, and at most 50 times its compressed size. A gzip
 * bomb (61 kB that inflate to 60 MB of JSON) is then labelled "not decoded" instead of taking memory for every event
 * that waits; its bytes are still stored and forwarded as received.
 */
export const MAX_DECODED = 8 * 1024 * 1024;
export const MAX_DECODE_RATIO = 50;

/** How far a compressed body of this size may inflate for display. */
const decodeLimit = (size: number): number => Math.min(MAX_DECODED, Math.max(64 * 1024, size * MAX_DECODE_RATIO));

function undoContentEncoding(body: Buffer, encoding: string): Buffer {
  const opts = { maxOutputLength: decodeLimit(body.length) };
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib().gunzipSync(body, opts);
    case 'deflate':
      return zlib().inflateSync(body, opts);
    case 'br':
      return zlib().brotliDecompressSync(body, opts);
    default:
      throw new Error(`unknown content-encoding "${encoding}"`);
  }
}

/**
 * Characters that must never reach a terminal as they are: C0 and C1 controls (escape sequences start with one) and
 * the bidirectional overrides and isolates (they reorder what follows them on the line). Global: for `replace`. Here,
 * where every part may import it: the printers (format/terminal.ts) and the tunnel server's words (tunnel.ts).
 */
export const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** NUL, or many control characters, mean binary; text in another charset than UTF-8 is still text. */
const CONTROL = /[\x01-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');
function looksBinary(text: string): boolean {
  // Scans of the decoded text (which every body needs anyway), not a loop over bytes in JS.
  const head = text.length > 4096 ? text.slice(0, 4096) : text;
  if (head.includes('\0')) return true;
  if (!CONTROL.test(head)) return false;
  return (head.match(CONTROLS)?.length ?? 0) * 10 > head.length;
}

const { isUtf8 } = process.getBuiltinModule('node:buffer');

const LATIN1 = /charset\s*=\s*"?(iso-8859-1|latin-?1|windows-1252|us-ascii)/i;

/** Text from bytes: UTF-8 when they are valid UTF-8, else Latin-1 (every byte is a character), said in `charset`. */
function textOf(bytes: Buffer, type: string, utf8: string): { text: string; charset?: string } {
  if (LATIN1.test(type)) return { text: bytes.toString('latin1'), charset: 'latin1' };
  if (!utf8.includes('\ufffd') || Buffer.from(utf8, 'utf8').equals(bytes)) return { text: utf8 };
  return { text: bytes.toString('latin1'), charset: 'latin1 (not valid UTF-8)' };
}

// One decode per body: the listener, the summary and the printers all ask for the same one.
/**
 * The last body decoded: the listener names an event and then summarises it, one decode for both. One entry only,
 * so nothing decoded outlives the moment (a queue of waiting events must not keep their parsed bodies alive).
 */
let lastDecoded: { body: Buffer; headers: [string, string][]; decoded: DecodedBody } | undefined;

/** Reads an event's body for display: never throws, whatever the bytes are. */
export function decodeBody(event: Pick<WebhookEvent, 'body' | 'headers'>): DecodedBody {
  if (lastDecoded && lastDecoded.body === event.body && lastDecoded.headers === event.headers) return lastDecoded.decoded;
  const decoded = decodeUncached(event);
  lastDecoded = { body: event.body, headers: event.headers, decoded };
  return decoded;
}

function decodeUncached(event: Pick<WebhookEvent, 'body' | 'headers'>): DecodedBody {
  let bytes = event.body;
  const result: Partial<DecodedBody> = {};
  const encoding = headerValue(event.headers, 'content-encoding')?.trim().toLowerCase();
  if (bytes.length > 0 && encoding && encoding !== 'identity') {
    try {
      bytes = undoContentEncoding(bytes, encoding);
      result.encoding = encoding;
    } catch (err) {
      const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
      return {
        kind: 'binary',
        decodeError: tooBig
          ? `${encoding}, ${event.body.length} bytes, not decoded: it would inflate past ${Math.round(decodeLimit(event.body.length) / 1024)} KB`
          : `${encoding}: ${(err as Error).message}`,
      };
    }
  }
  if (bytes.length === 0) return { ...result, kind: 'empty' };
  const type = (headerValue(event.headers, 'content-type') ?? '').toLowerCase();
  // The common case first: JSON in valid UTF-8 (checked by simdutf), parsed at once. A body JSON.parse accepts has
  // no NUL and no control characters, so the scans below would all say "text"; anything else takes the long way.
  const fast = !result.encoding && (bytes[0] === 0x7b || bytes[0] === 0x5b) && !type.startsWith('multipart/') && !type.includes('form-urlencoded');
  if (fast && !LATIN1.test(type) && isUtf8(bytes)) {
    const text = bytes.toString('utf8');
    try {
      return { kind: 'json', text, value: JSON.parse(text) };
    } catch {
      // Not JSON after all (or cut short): below, as before.
    }
  }
  if (type.startsWith('multipart/')) return { ...result, kind: 'multipart', text: bytes.toString('latin1') };
  const utf8 = bytes.toString('utf8');
  if (looksBinary(utf8)) return { ...result, kind: 'binary' };
  const { text, charset } = textOf(bytes, type, utf8);
  if (charset) result.charset = charset;
  if (type.includes('application/x-www-form-urlencoded')) {
    return { ...result, kind: 'form', text, value: Object.fromEntries(new URLSearchParams(text)) };
  }
  // A byte-order mark does not hide JSON (JSON.parse refuses it; the text keeps it, as received).
  const unmarked = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const trimmed = unmarked.trimStart();
  const jsonish = type.includes('json') || trimmed.startsWith('{') || trimmed.startsWith('[');
  if (jsonish) {
    try {
      return { ...result, kind: 'json', text, value: JSON.parse(unmarked) };
    } catch {
      return { ...result, kind: type.includes('json') ? 'invalid-json' : 'text', text };
    }
  }
  return { ...result, kind: 'text', text };
}

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
export const RESPONSE_KEEP = 64 * 1024;

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
  /** What the app answered: headers, and the body's first 64 KB (text, or base64 when not UTF-8) with its full size. */
  response?: AppResponse;
  at: string;
}
