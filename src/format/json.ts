import type { DecodedBody, DeliveryResult, WebhookEvent } from '../event.js';
import type { Printer } from './printer.js';
import { coalesced } from './output.js';
import { type Summary, summaryText } from './summary.js';
import { banner } from './terminal.js';

/** Headers as an object for `jq`: original names, repeated headers as arrays. */
export function headerObject(pairs: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

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
  if (decoded.kind === 'json') record.body = decoded.value;
  else if (decoded.kind === 'empty') record.body = null;
  else if ((decoded.kind === 'text' || decoded.kind === 'invalid-json' || decoded.kind === 'form') && !decoded.encoding)
    record.body = decoded.text;
  else record.bodyBase64 = event.body.toString('base64');
  if (event.rejected) record.rejected = event.rejected;
  if (event.rejected === 'filtered') record.filtered = true;
  return record;
}

export function deliveryRecord(result: DeliveryResult): Record<string, unknown> {
  return { type: 'delivery', ...result };
}

function write(stream: { write(text: string): unknown }, record: Record<string, unknown>, fallback?: Record<string, unknown>): void {
  let text: string;
  try {
    text = JSON.stringify(record);
  } catch {
    // Too deeply nested to serialise (the stack would overflow): the fallback carries the bytes instead.
    text = JSON.stringify(fallback ?? { type: record.type, error: 'record could not be serialised' });
  }
  stream.write(text + '\n');
}

/**
 * NDJSON on `out`, one record per line with a `type`; human status lines go to `err` (the banner with the public URL
 * among them, so `webhook-listen --json | jq …` still shows a person where to paste it).
 */
export function createJsonPrinter(stdout: NodeJS.WritableStream, err: NodeJS.WritableStream): Printer {
  const out = coalesced(stdout);
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
      const record = eventRecord(event, summary, decoded);
      const { body: _body, ...rest } = record;
      write(out, record, { ...rest, bodyBase64: event.body.toString('base64') });
    },
    delivery(result) {
      write(out, deliveryRecord(result));
    },
    ignored(info) {
      write(out, { type: 'ignored', status: 404, ...info });
    },
    tunnel(notice) {
      write(out, { type: 'tunnel', ...notice });
      err.write(`${notice.state === 'changed' ? '! ' : 'tunnel  '}${notice.message}\n`);
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
