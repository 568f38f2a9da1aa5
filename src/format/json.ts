import type { DecodedBody } from '../core/body.js';
import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import type { Printer } from './printer.js';
import { coalesced } from './output.js';
import { type Summary, summaryText } from './summary.js';
import { banner } from './banner.js';
import { RawJson, compactJson, recordLine } from './json-text.js';

/** Headers as an object for `jq`: original names, repeated headers as arrays; no prototype, so `__proto__` is a name. */
export function headerObject(pairs: [string, string][]): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of pairs) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * Bodies larger than this are left out of a record (`bodyTruncated`): escaped into one line, a 256 MB body of C1
 * characters (6 characters each as `\u0080`) is past the longest string V8 can make, and the process died.
 */
export const RECORD_BODY_MAX = 32_000_000;

/** The `event` record of `--json` and of `events --json`. */
export function eventRecord(event: WebhookEvent, summary: Summary, decoded: DecodedBody): Record<string, unknown> {
  const record: Record<string, unknown> = {
    type: 'event',
    id: event.id,
    receivedAt: event.receivedAt,
    event: event.name,
    method: event.method,
    path: event.path,
    query: event.query,
    headers: headerObject(event.headers),
    size: event.size,
    bodyKind: decoded.kind,
    summary: summaryText(summary),
  };
  // The body's own text, compacted: numbers as sent (no rounding past 2^53), any depth.
  if (event.body.length > RECORD_BODY_MAX) record.bodyTruncated = true;
  else if (decoded.kind === 'json') record.body = new RawJson(compactJson(decoded.text!));
  else if (decoded.kind === 'empty') record.body = null;
  else if ((decoded.kind === 'text' || decoded.kind === 'invalid-json' || decoded.kind === 'form') && !decoded.encoding)
    record.body = decoded.text;
  else record.bodyBase64 = event.body.toString('base64');
  if (summary.signature) record.signature = summary.signature;
  if (event.rejected) record.rejected = event.rejected;
  if (event.rejected === 'filtered') record.filtered = true;
  if (event.via) record.via = event.via;
  return record;
}

export function deliveryRecord(result: DeliveryResult): Record<string, unknown> {
  return { type: 'delivery', ...result };
}

function write(stream: { write(text: string): unknown }, record: Record<string, unknown>): void {
  stream.write(recordLine(record) + '\n');
}

/**
 * NDJSON on `out`, one record per line with a `type`; human status lines go to `err` (the banner with the public URL
 * among them, so `webhook-listen --json | jq …` still shows a person where to paste it).
 */
export function createJsonPrinter(stdout: NodeJS.WritableStream, err: NodeJS.WritableStream): Printer {
  const out = coalesced(stdout, {
    dropped: (n) =>
      recordLine({ type: 'dropped', records: n, message: `${n} records not written: nothing read the output for a while (every event is in the store: webhook-listen events --json)` }) + '\n',
  });
  return {
    flush() {
      out.flush();
    },
    ready(info) {
      write(out, { type: 'ready', ...info });
      out.flush();
      err.write(banner(info) + '\n');
    },
    event(event, summary, decoded) {
      write(out, eventRecord(event, summary, decoded));
    },
    delivery(result) {
      write(out, deliveryRecord(result));
    },
    ignored(info) {
      write(out, { type: info.status === 404 ? 'ignored' : 'refused', ...info });
    },
    tunnel(notice) {
      write(out, { type: 'tunnel', ...notice });
      err.write(`${notice.state === 'changed' ? '! ' : 'tunnel  '}${notice.message}\n`);
    },
    relay(notice) {
      write(out, { type: 'relay', ...notice });
      err.write(`relay  ${notice.message}\n`);
    },
    progress() {
      // Transient by nature: nothing to record.
    },
    info(message) {
      err.write(message + '\n');
    },
    warn(message) {
      err.write(`warning: ${message}\n`);
    },
    error(message) {
      err.write(`error: ${message}\n`);
    },
  };
}
