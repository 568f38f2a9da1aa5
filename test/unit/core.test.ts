// Pure parts of core/: naming, header rules, sizes, the subdomain rule, the next-free-port policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBody } from '../../src/core/body.js';
import { NOT_FORWARDED, NOT_RELAYED_BACK, headerValue } from '../../src/core/headers.js';
import { detectEventName, nameMatches } from '../../src/core/naming.js';
import { onNextFreePort } from '../../src/core/ports.js';
import { formatSize, parseSize } from '../../src/core/size.js';
import { SUBDOMAIN_RE, readableSubdomain } from '../../src/core/subdomain.js';
import { targetUrl } from '../../src/core/targets.js';
import { RESPONSE_KEEP, type WebhookEvent } from '../../src/core/event.js';
import { cutText, withoutPartialUtf8 } from '../../src/core/text.js';
import { appResponse } from '../../src/forward/deliver.js';
import { forwardHeaders } from '../../src/forward/headers.js';

const named = (headers: [string, string][], body: string): string | null => detectEventName(headers, decodeBody({ headers, body: Buffer.from(body) }));

test('event names: a provider header first (GitHub with its action), then a body field, then a generic header', () => {
  assert.equal(named([['X-GitHub-Event', 'check_run']], '{"action":"created"}'), 'check_run.created');
  assert.equal(named([['x-shopify-topic', 'orders/create']], '{"type":"x"}'), 'orders/create');
  assert.equal(named([], '{"event":"newMessage"}'), 'newMessage');
  assert.equal(named([], '{"type":"invoice.paid"}'), 'invoice.paid');
  assert.equal(named([['X-Event-Type', 'ping']], '{"data":1}'), 'ping');
  assert.equal(named([], '{"action":"opened"}'), 'opened');
  assert.equal(named([], 'event=form_sent&x=1'), null, 'a form body without a content type is text');
  assert.equal(named([['content-type', 'application/x-www-form-urlencoded']], 'event=form_sent'), 'form_sent');
  assert.equal(named([], `{"event":"${'x'.repeat(201)}"}`), null, 'too long to be a name');
  assert.equal(named([], 'not json'), null);
});

test('names match case-insensitively, and a family name matches its members', () => {
  const want = new Set(['check_run', 'newmessage']);
  assert.ok(nameMatches(want, 'check_run.created'));
  assert.ok(nameMatches(want, 'NewMessage'));
  assert.ok(!nameMatches(want, 'check_suite'));
  assert.ok(!nameMatches(want, null));
});

test('header rules: one hop-by-hop list; a forwarded request drops it and the framing, keeps the rest in order', () => {
  for (const h of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer']) {
    assert.ok(NOT_FORWARDED.has(h), h);
    assert.ok(NOT_RELAYED_BACK.has(h), h);
  }
  assert.ok(NOT_FORWARDED.has('host') && NOT_FORWARDED.has('content-length') && NOT_FORWARDED.has('expect'));
  assert.ok(NOT_RELAYED_BACK.has('content-length') && !NOT_RELAYED_BACK.has('set-cookie'));
  assert.equal(headerValue([['Content-Type', 'a'], ['content-type', 'b']], 'CONTENT-TYPE'), 'a');
  const event = {
    id: '01abc',
    remoteAddress: '10.0.0.1',
    headers: [['Host', 'x.loca.lt'], ['Connection', 'close, X-Hop'], ['X-Hop', '1'], ['X-Signature', 's'], ['Content-Length', '2'], ['Webhook-Listen-Event-Id', 'up']],
  } as unknown as WebhookEvent;
  assert.deepEqual(forwardHeaders(event, [['X-Signature', 'replaced']]), [
    'Webhook-Listen-Via', 'up',
    'X-Forwarded-For', '10.0.0.1',
    'X-Forwarded-Host', 'x.loca.lt',
    'X-Forwarded-Proto', 'http',
    'Webhook-Listen-Event-Id', '01abc',
    'X-Signature', 'replaced',
  ]);
});

test('a target without a path keeps the incoming path and query; one with a path is used as given', () => {
  assert.equal(targetUrl('http://localhost:3000', { url: '/hook?a=1' }), 'http://localhost:3000/hook?a=1');
  assert.equal(targetUrl('http://localhost:3000/app', { url: '/hook' }), 'http://localhost:3000/app');
  assert.equal(targetUrl('http://localhost:3000/?x', { url: '/hook' }), 'http://localhost:3000/?x');
});

test('one size unit: decimal when shown and when parsed', () => {
  assert.equal(formatSize(999), '999 B');
  assert.equal(formatSize(1000), '1.0 kB');
  assert.equal(formatSize(1_430), '1.4 kB');
  assert.equal(formatSize(10_000_000), '10.0 MB');
  assert.equal(formatSize(999_999), '1.0 MB');
  assert.equal(formatSize(2_500_000_000), '2.5 GB');
  assert.equal(parseSize('10mb'), 10_000_000);
  assert.equal(formatSize(parseSize('10mb')!), '10.0 MB', 'a 10 MB limit prints as 10 MB');
  assert.equal(parseSize('ten'), undefined);
});

test('one subdomain rule: what the localtunnel server takes and a DNS label holds', () => {
  for (const ok of ['abcd', 'abcdef', 'ab-cde', 'quiet-otter-4821', 'a'.repeat(63), `a${'-'.repeat(61)}b`]) assert.ok(SUBDOMAIN_RE.test(ok), ok);
  for (const bad of ['abc', 'ab-cd', '-abcde', 'abcde-', 'a'.repeat(64), `a${'-'.repeat(62)}b`, 'ABCD', 'ab_cd']) assert.ok(!SUBDOMAIN_RE.test(bad), bad);
  let n = 0;
  const draws = [0, 0.999, 0.5];
  for (let i = 0; i < 200; i++) assert.ok(SUBDOMAIN_RE.test(readableSubdomain(() => draws[n++ % 3]! * ((i % 7) / 7))));
});

test('the next free port: steps past busy ports, up to 20; an explicit port or port 0 is tried once', async () => {
  const busyUntil = (free: number) => async (port: number) => {
    if (port < free) throw Object.assign(new Error('busy'), { busy: true });
    return port;
  };
  const isBusy = (err: unknown): boolean => (err as { busy?: boolean }).busy === true;
  assert.deepEqual(await onNextFreePort(7070, false, busyUntil(7073), isBusy), { bound: 7073, tried: 4 });
  await assert.rejects(onNextFreePort(7070, true, busyUntil(7073), isBusy), /busy/);
  await assert.rejects(onNextFreePort(7070, false, busyUntil(7090), isBusy), /busy/);
  assert.deepEqual(await onNextFreePort(7070, false, busyUntil(7089), isBusy), { bound: 7089, tried: 20 });
  await assert.rejects(onNextFreePort(7070, false, async () => { throw new Error('EACCES'); }, isBusy), /EACCES/);
});

test('cutting text: never a lone surrogate (the inspector preview), never half a UTF-8 character (the app answer kept)', () => {
  // Issue 29, items 2 and 3.
  const smile = '\u{1F600}';
  assert.equal(cutText(`ab${smile}`, 3), 'ab', 'the pair is not split');
  assert.equal(cutText(`ab${smile}`, 4), `ab${smile}`);
  assert.equal(cutText('abc', 10), 'abc');
  const bytes = Buffer.from(`${'x'.repeat(63_999)}é`);
  assert.equal(withoutPartialUtf8(bytes.subarray(0, 64_000)).length, 63_999, 'the lead byte of é goes');
  assert.equal(withoutPartialUtf8(Buffer.from('abc')).length, 3);
  assert.equal(withoutPartialUtf8(Buffer.from(`a${smile}`).subarray(0, 4)).length, 1, 'three of four bytes: all three go');
  // An answer cut at the 64 kB mark inside a character stays text, not a "binary answer".
  const answer = appResponse([], bytes.subarray(0, RESPONSE_KEEP), bytes.length);
  assert.equal(answer.bodyBase64, undefined);
  assert.equal(answer.body, 'x'.repeat(63_999));
  assert.equal(answer.truncated, true);
  // Bytes that are not UTF-8 at all are still base64.
  assert.ok(appResponse([], Buffer.from([0xff, 0xfe, 0x00]), 3).bodyBase64);
});
