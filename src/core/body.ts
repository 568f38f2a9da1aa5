import type { WebhookEvent } from './event.js';
import { headerValue } from './headers.js';
import { formatSize } from './size.js';

// Loaded on first use (process.getBuiltinModule, sync), not on the start-up path.
const zlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');

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

/** Reads an event's body for display: never throws, whatever the bytes are. One decode per event, by its source. */
export function decodeBody(event: Pick<WebhookEvent, 'body' | 'headers'>): DecodedBody {
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
          ? `${encoding}, ${event.body.length} bytes, not decoded: it would inflate past ${formatSize(decodeLimit(event.body.length))}`
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

