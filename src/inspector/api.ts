import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeBody } from '../core/body.js';
import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import { headerValue } from '../core/headers.js';
import { cutText } from '../core/text.js';
import { headerObject } from '../format/json.js';
import { type Summary, deliveryStatus, summarize, summaryPieces, summaryText } from '../format/summary.js';
import { curlFor, fixtureName } from './shell.js';

/** A query parameter that must be a whole number (a count): anything else is as if it were not given (0). */
export function wholeParam(value: string | null): number {
  return value !== null && /^\d{1,15}$/.test(value) ? Number(value) : 0;
}
/** What is wrong with a replay request's shape, if anything (a client other than our page may send anything). */
export function replayRequestProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'expected a JSON object';
  const { targets, body, bodyBase64, headers } = r as Record<string, unknown>;
  if (targets !== undefined && !(Array.isArray(targets) && targets.every((t) => typeof t === 'string'))) return 'targets must be a list of URLs';
  if (body !== undefined && typeof body !== 'string') return 'body must be text';
  if (bodyBase64 !== undefined && typeof bodyBase64 !== 'string') return 'bodyBase64 must be text';
  if (headers !== undefined && !(Array.isArray(headers) && headers.every((h) => Array.isArray(h) && h.length === 2 && h.every((x) => typeof x === 'string'))))
    return 'headers must be a list of [name, value] pairs';
  return undefined;
}

type ListedEvent = Pick<WebhookEvent, 'id' | 'receivedAt' | 'name' | 'method' | 'path' | 'size' | 'targets' | 'rejected'> & { seq?: number };

/** One row of the list: the summary as pieces for styling, and the delivery status. */
export function listItem(event: ListedEvent, summary: Summary, deliveries: DeliveryResult[]): Record<string, unknown> {
  return {
    id: event.id,
    // `#1234`: what the terminal shows and `show` / `replay` take.
    seq: event.seq ?? null,
    receivedAt: event.receivedAt,
    name: event.name,
    method: event.method,
    path: event.path,
    size: event.size,
    kind: summary.kind,
    pieces: summaryPieces(summary),
    text: summaryText(summary),
    status: deliveryStatus(event, deliveries),
    deliveries,
    targets: event.targets ?? [],
  };
}

/** Text bodies up to this size come with the detail; larger ones are fetched on demand (`/text`). */
const PREVIEW_CHARS = 64 * 1024;
/** Bodies up to this size can be edited as text before a replay. */
const EDITABLE_MAX = 1024 * 1024;
/** The body's media type, without parameters, lower-cased. */
export const mediaType = (event: WebhookEvent): string => (headerValue(event.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
export const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp|avif|bmp)$/;

/**
 * The detail pane's data: everything but the body, which comes as a preview (and is fetched whole from `/text` or
 * `/body` only when shown), so a 10 MB event opens as fast as a small one. No parsed JSON: the page parses the text
 * itself, keeping numbers exactly as sent.
 */
export function detail(entry: { event: WebhookEvent; deliveries: DeliveryResult[]; signature?: Summary['signature'] }, curlUrl: string | undefined): Record<string, unknown> {
  const { event, deliveries } = entry;
  const decoded = decodeBody(event);
  const summary = summarize(event, decoded);
  if (entry.signature) summary.signature = entry.signature;
  const type = mediaType(event);
  const text = decoded.text;
  const utf8Text = text !== undefined && !decoded.encoding && !decoded.charset;
  const out: Record<string, unknown> = {
    ...listItem(event, summary, deliveries),
    signature: entry.signature ?? null,
    url: event.url,
    query: event.query,
    remoteAddress: event.remoteAddress,
    via: event.via ?? null,
    headers: event.headers,
    headerObject: headerObject(event.headers),
    encoding: decoded.encoding ?? null,
    charset: decoded.charset ?? null,
    rejected: event.rejected ?? null,
    bodySize: event.body.length,
    textSize: text?.length ?? null,
    image: IMAGE_TYPES.test(type) && event.body.length > 0 ? type : null,
    // Edited as text only when the text is the bytes (UTF-8, not encoded) and small enough to edit.
    editable: event.body.length === 0 || (utf8Text && ['json', 'text', 'form', 'invalid-json'].includes(decoded.kind) && event.body.length <= EDITABLE_MAX),
    fixture: fixtureName(event, decoded.kind === 'json' ? 'json' : 'bin'),
  };
  if (text !== undefined) {
    out.bodyText = cutText(text, PREVIEW_CHARS);
    out.textTruncated = text.length > PREVIEW_CHARS;
  }
  if (curlUrl) out.curl = curlFor(event, curlUrl);
  return out;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

