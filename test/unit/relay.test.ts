import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChannel, streamUrl } from '../../src/relay/channel.js';
import { readRelayMessage } from '../../src/relay/message.js';
import { SseParser, type SseItem } from '../../src/relay/sse.js';

const feed = (p: SseParser, ...chunks: string[]): SseItem[] => chunks.flatMap((c) => p.push(Buffer.from(c)));

test('the event-stream parser: fields, multi-line data, comments, CRLF and CR, chunks cut anywhere', () => {
  const text = 'id: 7\r\nevent: ready\r\ndata: {}\r\n\r\n: keepalive\n\ndata: a\ndata: b\n\nid: 1-0\rdata:x\r\r';
  const whole = feed(new SseParser(1000), text);
  assert.deepEqual(whole, [
    { message: { id: '7', event: 'ready', data: '{}' } },
    { comment: true },
    { message: { event: '', data: 'a\nb' } },
    { message: { id: '1-0', event: '', data: 'x' } },
  ]);
  // Byte by byte gives the same (a CRLF split between two chunks is one line end).
  const p = new SseParser(1000);
  assert.deepEqual([...text].flatMap((ch) => p.push(Buffer.from(ch))), whole);
  // Multi-byte characters cut between chunks stay whole.
  const bytes = Buffer.from('data: é€\n\n');
  const q = new SseParser(1000);
  assert.deepEqual([...bytes].flatMap((b) => q.push(Buffer.from([b]))), [{ message: { event: '', data: 'é€' } }]);
});

test('a line past the limit is skipped as it comes and its message reported, the next one read', () => {
  const p = new SseParser(10);
  const items = feed(p, 'data: 0123', '456789abcdef', 'ghij\n', '\n', 'data: ok\n\n');
  assert.deepEqual(items, [{ tooLong: 26 }, { message: { event: '', data: 'ok' } }]);
});

test('a gosmee message: the exact bytes from bodyB, the relay\'s own headers dropped, the provider\'s kept', () => {
  const body = '{"b": 1.0,\n "a": "é"}';
  const data = JSON.stringify({
    host: 'hook.example.com',
    'content-length': '22',
    'x-forwarded-for': '1.2.3.4',
    'accept-encoding': 'gzip',
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': 'abc',
    'x-hub-signature-256': 'sha256=00',
    timestamp: '1700000000000',
    bodyB: Buffer.from(body).toString('base64'),
  });
  const item = readRelayMessage({ id: '1-0', event: '', data }, 1000);
  assert.equal(item.kind, 'webhook');
  if (item.kind !== 'webhook') return;
  assert.equal(item.webhook.body.toString(), body);
  assert.equal(item.webhook.reserialised, false);
  assert.deepEqual(item.webhook.headers, [
    ['content-type', 'application/json'],
    ['x-github-event', 'push'],
    ['x-github-delivery', 'abc'],
    ['x-hub-signature-256', 'sha256=00'],
  ]);
  assert.equal(item.webhook.deliveryId, 'x-github-delivery:abc');
});

test('a smee.io message: the parsed body serialised again (marked), its query, a Stripe event id for dedupe', () => {
  const data = JSON.stringify({ 'stripe-signature': 't=1,v1=00', body: { id: 'evt_123', object: 'event', n: 1.5 }, query: { a: '1', b: ['2', '3'] }, timestamp: 1 });
  const item = readRelayMessage({ id: '3', event: '', data }, 1000);
  assert.ok(item.kind === 'webhook');
  assert.equal(item.webhook.body.toString(), '{"id":"evt_123","object":"event","n":1.5}');
  assert.equal(item.webhook.reserialised, true);
  assert.equal(item.webhook.query, 'a=1&b=2&b=3');
  assert.deepEqual(item.webhook.headers, [
    ['stripe-signature', 't=1,v1=00'],
    ['content-type', 'application/json'],
  ]);
  assert.equal(item.webhook.deliveryId, 'stripe:evt_123');
});

test('relay control messages and refusals', () => {
  const read = (data: string, event = ''): ReturnType<typeof readRelayMessage> => readRelayMessage({ event, data }, 100);
  assert.deepEqual(read('{}', 'ready'), { kind: 'control', what: 'ready' });
  assert.deepEqual(read('{}', 'ping'), { kind: 'control', what: 'ping' });
  assert.deepEqual(read('{"message":"connected"}'), { kind: 'control', what: 'connected' });
  assert.equal(read('{"error":"missed_history"}', 'gosmee-gap').kind, 'gap');
  const reason = (data: string): string => {
    const r = read(data);
    return r.kind === 'refused' ? r.reason : `not refused: ${r.kind}`;
  };
  assert.match(reason('nope'), /not JSON/);
  assert.match(reason('"a string"'), /not a JSON object/);
  assert.match(reason('{"x":"1"}'), /no body/);
  assert.match(reason('{"x":{"y":1},"body":{}}'), /the header x is not a string/);
  assert.match(reason('{"x":"a\\r\\nb","body":{}}'), /line break/);
  assert.match(reason('{"bad name":"1","body":{}}'), /a header name HTTP does not allow/);
  assert.match(reason(`{"bodyB":"${'A'.repeat(200)}"}`), /over --max-body/);
  assert.match(reason(`{"body":"${'A'.repeat(200)}"}`), /over --max-body/);
});

test('--relay URL forms', () => {
  assert.deepEqual(parseChannel('https://smee.io/AbC-d_1'), { url: 'https://smee.io/AbC-d_1' });
  assert.deepEqual(parseChannel('gosmee:https://hook.example.com/abc'), { url: 'https://hook.example.com/abc', kind: 'gosmee' });
  assert.deepEqual(parseChannel('https://hook.example.com/events/abc'), { url: 'https://hook.example.com/abc', kind: 'gosmee' });
  assert.deepEqual(parseChannel('SMEE:http://127.0.0.1:3000/x'), { url: 'http://127.0.0.1:3000/x', kind: 'smee' });
  assert.equal(streamUrl({ url: 'https://hook.example.com/abc' }, 'gosmee'), 'https://hook.example.com/events/abc');
  assert.equal(streamUrl({ url: 'https://smee.io/abc' }, 'smee'), 'https://smee.io/abc');
  assert.throws(() => parseChannel('smee.io/abc'), /is not a URL/);
  assert.throws(() => parseChannel('https://smee.io/'), /no channel in that URL/);
  assert.throws(() => parseChannel('https://smee.io/a/b'), /no channel in that URL/);
  assert.throws(() => parseChannel('ftp://smee.io/abc'), /starts with https:\/\//);
});
