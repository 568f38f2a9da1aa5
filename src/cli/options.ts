import { InvalidArgumentError, Option } from 'commander';
import { parseSize } from '../core/size.js';
import { secretProblem } from '../core/signature.js';
import { SUBDOMAIN_RE } from '../core/subdomain.js';

/*
 * Argument parsers: each turns text into a typed value or throws commander's InvalidArgumentError saying what is
 * wrong (exit 2). Pure: unit-tested in test/unit/options.test.ts.
 */

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return Number(value);
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, like 10.');
  return wholeCount(value);
}

/**
 * A count as given, digits only: one past what a double holds exactly means "all of them" (SQLite refused
 * `-n 99999999999999999999` as a LIMIT with "datatype mismatch", said as if the store were broken).
 */
export function wholeCount(digits: string): number {
  return Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
}

/** A size in decimal units (core/size.ts): 512kb, 10mb, or bytes. */
export function parseSizeOption(value: string): number {
  const size = parseSize(value);
  if (size === undefined) throw new InvalidArgumentError('expected a size like 512kb, 10mb or 1000000.');
  return size;
}

/**
 * The largest --max-body: a body is held in memory, decoded to text, printed as JSON (base64 when binary) and kept
 * in one SQLite row; past ~512 MB node cannot make a string of it, and a listener told `--max-body 1gb` crashed on
 * the first such body. 256 MB bodies were checked through the default output, --json, --verbose and the inspector.
 */
export const MAX_BODY_LIMIT = 256_000_000;

export function parseMaxBody(value: string): number {
  const size = parseSizeOption(value);
  if (size > MAX_BODY_LIMIT) throw new InvalidArgumentError('must be at most 256mb: a larger body cannot be decoded, printed or kept by one process.');
  return size;
}

/** The longest setTimeout() waits: 2^31 - 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration like 500ms, 30s or 2m.');
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const ms = unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000;
  if (ms <= 0) throw new InvalidArgumentError('must be more than zero.');
  // Past this, node's timers fire after 1 ms (with a warning): a "no timeout" of 99999m gave up on every answer.
  if (Math.round(ms) > MAX_TIMER_MS) throw new InvalidArgumentError('must be at most 35791m (about 24 days), the longest a timer can wait.');
  return Math.round(ms);
}

/** --secret, repeatable; one that cannot be meant (an unset variable's) is a usage error. */
export function collectSecret(value: string, previous: string[] = []): string[] {
  const problem = secretProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return [...previous, value];
}

/** `3000`, `:3000`, `localhost:3000/hook` and full http(s) URLs all name a forward target. */
export function parseTarget(value: string): string {
  let v = value.trim();
  // A bare port, with or without a path: 3000, 3000/hook, :3000/hook.
  if (/^\d+(?=$|[/?])/.test(v)) v = `http://localhost:${v}`;
  else if (/^:\d+/.test(v)) v = `http://localhost${v}`;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) v = `http://${v}`;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL; try 3000 or http://localhost:3000/my/webhook/url.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`only http:// and https:// targets can receive webhooks, not ${url.protocol}//.`);
  if (!url.hostname) throw new InvalidArgumentError(`"${value}" has no host.`);
  // http://21300/hook would go to the IPv4 address 0.0.83.52: a host of digits alone is a slip, not a place.
  const host = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/:?#]+)/i.exec(v)?.[1] ?? '';
  if (/^\d+$/.test(host)) throw new InvalidArgumentError(`"${host}" is not a host; for a port on this machine write localhost:${host} (or just ${host}).`);
  return v;
}

export function parseTunnelHost(value: string): string {
  let url: URL;
  // localhost:21200 with no scheme would be asked over TLS and fail for ever with EPROTO: say which one is meant.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw new InvalidArgumentError(`a tunnel server needs its scheme: http://${value} or https://${value}.`);
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL; e.g. https://tunnel.example.com.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('a tunnel server is http:// or https://.');
  // The server answers 404 to a create request with a doubled slash: keep the origin only.
  return url.origin;
}

export function parseSubdomain(value: string): string {
  const v = value.toLowerCase();
  if (!SUBDOMAIN_RE.test(v))
    throw new InvalidArgumentError('a subdomain is 4 to 63 lowercase letters, digits or dashes, not starting or ending with a dash.');
  return v;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, parseTarget(value)];
}

/** --forward-to [names=]url: a target bound to event names (comma-separated) takes only those events. */
export function collectRoute(value: string, previous: { url: string; names?: string[] }[] = []): { url: string; names?: string[] }[] {
  const m = /^([A-Za-z0-9_.*-]+(?:,[A-Za-z0-9_.*-]+)*)=(.+)$/.exec(value.trim());
  if (m && !/^https?$/i.test(m[1]!)) return [...previous, { url: parseTarget(m[2]!), names: m[1]!.split(',') }];
  return [...previous, { url: parseTarget(value) }];
}

/** Targets bound to names: a URL given with names more than once takes the union; once without names, everything. */
export function routesOf(routes: { url: string; names?: string[] }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const all = new Set(routes.filter((r) => !r.names).map((r) => r.url));
  for (const r of routes) if (r.names && !all.has(r.url)) out.set(r.url, [...(out.get(r.url) ?? []), ...r.names]);
  return out;
}

/** -H "Name: value", repeatable: a header added to (or replacing one of) every forwarded request. */
export function collectHeader(value: string, previous: [string, string][] = []): [string, string][] {
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*(.*)$/.exec(value);
  if (!m) throw new InvalidArgumentError('a header is "Name: value", e.g. -H "Authorization: Bearer test".');
  if (/[\r\n\0]/.test(m[2]!)) throw new InvalidArgumentError('a header value cannot hold a line break.');
  return [...previous, [m[1]!, m[2]!.trim()]];
}

/** --insecure (also --skip-verify, as stripe has), for every command that sends to an app. */
export const insecureOption = (): Option => new Option('--insecure', 'accept a self-signed certificate on https targets (alias --skip-verify)');
export const skipVerifyOption = (): Option => new Option('--skip-verify').hideHelp();
export const insecureOf = (opts: { insecure?: boolean; skipVerify?: boolean }): boolean => Boolean(opts.insecure || opts.skipVerify);

export function parseNames(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('give one or more event names, comma-separated: newMessage,conversationUpdated.');
  return names;
}

export function parsePath(value: string): string {
  if (!value.startsWith('/')) value = '/' + value;
  if (/[\s?#]/.test(value)) throw new InvalidArgumentError('a path has no spaces, ? or #; e.g. /my/webhook/url.');
  return value;
}


/** An option whose default is shown in help as typed (10mb, 30s), not as the parsed number. */
export function withDefault(flags: string, description: string, parse: (v: string) => number, text: string): Option {
  return new Option(flags, description).argParser(parse).default(parse(text), text);
}

/** --forward-timeout, the same for every command that sends to an app (commander needs a new Option each time). */
export const forwardTimeout = (): Option =>
  withDefault('--forward-timeout <duration>', 'give up on one attempt when the app has not answered within this long', parseDuration, '30s');

// A closed pipe (| head) ends output quietly rather than with a stack trace; a listener stops as on ^C (stopOnSignals).