import { type WebhookEvent } from '../core/event.js';
import { decodeBody } from '../core/body.js';
import { detectEventName } from '../core/naming.js';
import { newEventId } from '../core/ids.js';
import { createDeliverer } from '../forward/deliver.js';
import { summarize } from '../format/summary.js';
import { CONTENT_TYPES, type ContentType, SAMPLE_KINDS, newMessage } from './samples.js';
import { RunError } from '../core/errors.js';
import type { CommandIO } from './io.js';

export interface SendOptions {
  kind: string;
  to: string[];
  /** A file path, or '-' for the bytes on stdin (read by the caller). */
  data?: Buffer;
  sets: string[];
  timeoutMs: number;
  insecure?: boolean;
}

/** `send --list`: what can be sent. */
export function listSamples(io: CommandIO): void {
  const width = Math.max(...SAMPLE_KINDS.map((k) => k.name.length));
  for (const k of SAMPLE_KINDS) io.out.write(`${k.name.padEnd(width)}  ${k.description}\n`);
  io.out.write(`\nAny kind takes --set path=value (e.g. --set message.contentType=IMAGE, --set message.sender.authUser=true).\n`);
}

/** Parses `--set a.b.c=value`: the value is JSON when it parses (numbers, true, null, "quoted"), else text. */
function parseSet(assignment: string): { path: string[]; value: unknown } {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new RunError(`--set ${assignment}: expected path=value, e.g. --set message.content="Hi there"`);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // Plain text.
  }
  return { path, value };
}

function applySet(target: Record<string, unknown>, path: string[], value: unknown): void {
  // Own properties only, defined rather than assigned: a key named __proto__ or constructor is a key of the JSON like
  // any other (it was silently lost, and `--set __proto__.x=1` set x on every object of the process).
  const put = (node: Record<string, unknown>, key: string, v: unknown): void => {
    Object.defineProperty(node, key, { value: v, enumerable: true, writable: true, configurable: true });
  };
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (typeof next !== 'object' || next === null) put(node, key, {});
    node = node[key] as Record<string, unknown>;
  }
  put(node, path.at(-1)!, value);
}

/** Builds the body to send: a sample (its content type and sender taken from --set first), or --data, then --set. */
export function buildBody(options: Pick<SendOptions, 'kind' | 'data' | 'sets'>): Buffer {
  const sets = options.sets.map(parseSet);
  if (options.data) {
    if (sets.length === 0) return options.data;
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.data.toString('utf8'));
    } catch {
      throw new RunError('--set needs --data to be a JSON object; it is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null) throw new RunError('--set needs --data to be a JSON object');
    for (const s of sets) applySet(parsed as Record<string, unknown>, s.path, s.value);
    return Buffer.from(JSON.stringify(parsed, null, 2));
  }
  const kind = SAMPLE_KINDS.find((k) => k.name.toLowerCase() === options.kind.toLowerCase());
  if (!kind) throw new RunError(`no sample called "${options.kind}" — see them with: webhook-listen send --list`);
  const opts = { ...kind.options };
  for (const s of sets) {
    const key = s.path.join('.');
    if (key === 'message.contentType') {
      const ct = String(s.value).toUpperCase() as ContentType;
      if (!CONTENT_TYPES.includes(ct)) throw new RunError(`message.contentType is one of ${CONTENT_TYPES.join(', ')}`);
      opts.contentType = ct;
    }
    if (key === 'message.sender.authUser') opts.agent = s.value === true;
  }
  const body = newMessage(opts);
  for (const s of sets) applySet(body, s.path, s.value);
  return Buffer.from(JSON.stringify(body, null, 2));
}

/** `webhook-listen send`: posts a realistic platform event to an app; true when every target answered 2xx/3xx. */
export async function sendSample(options: SendOptions, io: CommandIO): Promise<boolean> {
  if (options.to.length === 0) throw new RunError('send needs a target: --to http://localhost:3000/my/webhook/url');
  const body = buildBody(options);
  const headers: [string, string][] = [
    ['Content-Type', 'application/json'],
    ['User-Agent', 'webhook-listen-send'],
  ];
  const event: WebhookEvent = {
    id: newEventId(),
    receivedAt: new Date().toISOString(),
    method: 'POST',
    url: '/',
    path: '/',
    query: '',
    headers,
    body,
    size: body.length,
    remoteAddress: '',
    name: detectEventName(headers, decodeBody({ headers, body })),
    targets: options.to,
  };
  const decoded = decodeBody(event);
  io.printer.event(event, summarize(event, decoded), decoded);
  const deliverer = createDeliverer({ timeoutMs: options.timeoutMs, insecure: options.insecure });
  let allOk = true;
  try {
    for (const target of options.to) {
      const { result } = await deliverer.deliver(event, target, 1);
      if (result.status === undefined || result.status >= 400) allOk = false;
      io.printer.delivery(result, event);
    }
  } finally {
    await deliverer.close();
  }
  return allOk;
}
