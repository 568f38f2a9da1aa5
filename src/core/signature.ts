/*
 * Is the signature on this event valid for the bytes that arrived? The first question when "signature verification
 * failed" shows up in an app: the answer separates "my body parser changed the bytes" from "wrong secret" from "too
 * old". Verification never changes what is stored, answered or forwarded. node:crypto only, timing-safe compares.
 */
import type { WebhookEvent } from './event.js';
import { headerValue } from './headers.js';

export const PROVIDERS = ['github', 'stripe', 'standard', 'shopify', 'slack', 'generic'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** A --secret: for one provider (`github:…`), or for any scheme. */
export interface Secret {
  provider?: Provider;
  value: string;
}

export interface SignatureCheck {
  /** The scheme found in the headers: github, stripe, standard, shopify, slack, or generic (--signature-header). */
  scheme: Provider;
  valid: boolean;
  /** Why not, when not valid. */
  reason?: 'no matching signature' | 'timestamp outside tolerance' | 'header malformed' | 'no secret for this scheme';
}

export interface VerifyOptions {
  secrets: Secret[];
  /** A header holding an HMAC-SHA256 of the body, hex or base64, with or without `sha256=` (--signature-header). */
  signatureHeader?: string;
  /** How old (or new) a signed timestamp may be, in seconds: Stripe's, Standard Webhooks' and Slack's default. */
  toleranceSeconds?: number;
}

/** `provider:` at the start of a secret: one of PROVIDERS, or Svix's `svix` (its scheme is `standard`). */
const PROVIDER_PREFIX = /^(github|stripe|standard|svix|shopify|slack|generic):/;

/** `provider:value` names the provider; anything else is a secret for every scheme (Svix's `svix` is `standard`). */
export function parseSecret(text: string): Secret {
  const m = PROVIDER_PREFIX.exec(text);
  if (!m || text.length === m[0].length) return { value: text };
  return { provider: (m[1] === 'svix' ? 'standard' : m[1]) as Provider, value: text.slice(m[0].length) };
}

/**
 * What is wrong with a secret as given, if anything: an empty one, or a provider with nothing after it, is what
 * `--secret "github:$SECRET"` gives when the variable is not set (it was taken as the secret itself, and every
 * signature then "did not match").
 */
export function secretProblem(text: string): string | undefined {
  const m = PROVIDER_PREFIX.exec(text);
  if (text !== '' && !(m && text.length === m[0].length)) return undefined;
  return `${m ? `nothing follows "${m[0]}"` : 'it is empty'} — is the variable that should hold the secret set?`;
}

const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');
const hmac = (key: Buffer | string, data: Buffer | string): Buffer => crypto().createHmac('sha256', key).update(data).digest();

/** Timing-safe equality of a computed digest and a claimed one (decoded from hex or base64). */
function same(digest: Buffer, claimed: Buffer): boolean {
  return claimed.length === digest.length && crypto().timingSafeEqual(digest, claimed);
}

const HEX64 = /^[0-9a-f]{64}$/i;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

interface Scheme {
  provider: Provider;
  /** Whether the event carries this scheme's headers. */
  present(h: (name: string) => string | undefined): boolean;
  /** Checks with one secret: a reason when it fails, null when valid. */
  check(h: (name: string) => string | undefined, body: Buffer, secret: string, now: number, tolerance: number): SignatureCheck['reason'] | null;
}

const within = (seconds: number, now: number, tolerance: number): boolean => Math.abs(now / 1000 - seconds) <= tolerance;

const SCHEMES: Scheme[] = [
  {
    provider: 'github',
    present: (h) => h('x-hub-signature-256') !== undefined,
    check(h, body, secret) {
      const m = /^sha256=(.+)$/.exec(h('x-hub-signature-256')!.trim());
      if (!m || !HEX64.test(m[1]!)) return 'header malformed';
      return same(hmac(secret, body), Buffer.from(m[1]!, 'hex')) ? null : 'no matching signature';
    },
  },
  {
    provider: 'stripe',
    present: (h) => h('stripe-signature') !== undefined,
    check(h, body, secret, now, tolerance) {
      const parts = h('stripe-signature')!.split(',').map((p) => p.trim().split('='));
      const t = parts.find(([k]) => k === 't')?.[1];
      const v1 = parts.filter(([k, v]) => k === 'v1' && v && HEX64.test(v)).map(([, v]) => v!);
      if (!t || !/^\d+$/.test(t) || v1.length === 0) return 'header malformed';
      const digest = hmac(secret, Buffer.concat([Buffer.from(`${t}.`), body]));
      if (!v1.some((v) => same(digest, Buffer.from(v, 'hex')))) return 'no matching signature';
      return within(Number(t), now, tolerance) ? null : 'timestamp outside tolerance';
    },
  },
  {
    provider: 'standard',
    present: (h) => h('webhook-signature') !== undefined || h('svix-signature') !== undefined,
    check(h, body, secret, now, tolerance) {
      const prefix = h('webhook-signature') !== undefined ? 'webhook' : 'svix';
      const id = h(`${prefix}-id`);
      const ts = h(`${prefix}-timestamp`);
      const sigs = h(`${prefix}-signature`)!
        .split(' ')
        .map((s) => s.split(','))
        .filter(([v, sig]) => v === 'v1' && sig && B64.test(sig))
        .map(([, sig]) => Buffer.from(sig!, 'base64'));
      if (!id || !ts || !/^\d+$/.test(ts) || sigs.length === 0) return 'header malformed';
      const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
      const digest = hmac(key, Buffer.concat([Buffer.from(`${id}.${ts}.`), body]));
      if (!sigs.some((s) => same(digest, s))) return 'no matching signature';
      return within(Number(ts), now, tolerance) ? null : 'timestamp outside tolerance';
    },
  },
  {
    provider: 'shopify',
    present: (h) => h('x-shopify-hmac-sha256') !== undefined,
    check(h, body, secret) {
      const claimed = h('x-shopify-hmac-sha256')!.trim();
      if (!B64.test(claimed)) return 'header malformed';
      return same(hmac(secret, body), Buffer.from(claimed, 'base64')) ? null : 'no matching signature';
    },
  },
  {
    provider: 'slack',
    present: (h) => h('x-slack-signature') !== undefined,
    check(h, body, secret, now, tolerance) {
      const m = /^v0=([0-9a-f]{64})$/i.exec(h('x-slack-signature')!.trim());
      const ts = h('x-slack-request-timestamp');
      if (!m || !ts || !/^\d+$/.test(ts)) return 'header malformed';
      const digest = hmac(secret, Buffer.concat([Buffer.from(`v0:${ts}:`), body]));
      if (!same(digest, Buffer.from(m[1]!, 'hex'))) return 'no matching signature';
      return within(Number(ts), now, tolerance) ? null : 'timestamp outside tolerance';
    },
  },
];

/** A generic HMAC-SHA256 of the body in `header`: hex or base64, with or without `sha256=`. */
function genericScheme(header: string): Scheme {
  const name = header.toLowerCase();
  return {
    provider: 'generic',
    present: (h) => h(name) !== undefined,
    check(h, body, secret) {
      const value = h(name)!.trim().replace(/^sha256=/i, '');
      const claimed = HEX64.test(value) ? Buffer.from(value, 'hex') : B64.test(value) ? Buffer.from(value, 'base64') : undefined;
      if (!claimed) return 'header malformed';
      return same(hmac(secret, body), claimed) ? null : 'no matching signature';
    },
  };
}

/**
 * Verifies the signature the event carries, with the scheme its headers show; undefined when it carries none of them
 * or no verification was asked for. The clock is the event's arrival, so `show` tomorrow says what was true then.
 */
export function verifySignature(event: Pick<WebhookEvent, 'headers' | 'body' | 'receivedAt'>, options: VerifyOptions): SignatureCheck | undefined {
  if (options.secrets.length === 0 && !options.signatureHeader) return undefined;
  const h = (name: string): string | undefined => headerValue(event.headers, name);
  const schemes = options.signatureHeader ? [genericScheme(options.signatureHeader), ...SCHEMES] : SCHEMES;
  const scheme = schemes.find((s) => s.present(h));
  if (!scheme) return undefined;
  const secrets = options.secrets.filter((s) => !s.provider || s.provider === scheme.provider);
  if (secrets.length === 0) return { scheme: scheme.provider, valid: false, reason: 'no secret for this scheme' };
  const now = Date.parse(event.receivedAt);
  const tolerance = options.toleranceSeconds ?? 300;
  // The most telling failure wins: a stale timestamp says more than no match, no match more than a malformed header.
  const order: NonNullable<SignatureCheck['reason']>[] = ['timestamp outside tolerance', 'no matching signature', 'header malformed'];
  let best: SignatureCheck['reason'] | undefined;
  for (const s of secrets) {
    const reason = scheme.check(h, event.body, s.value, now, tolerance);
    if (reason === null) return { scheme: scheme.provider, valid: true };
    if (best === undefined || order.indexOf(reason!) < order.indexOf(best)) best = reason!;
  }
  return { scheme: scheme.provider, valid: false, reason: best! };
}
