import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { WebhookEvent } from '../../src/core/event.js';
import { newMessage } from '../../src/commands/samples.js';
import { fitPieces } from '../../src/format/fit.js';
import { joinPieces, summarize, summaryPieces } from '../../src/format/summary.js';
import { displayWidth } from '../../src/format/width.js';

const event = (body: string, headers: [string, string][] = [['content-type', 'application/json']]): WebhookEvent => ({
  id: '01m99g1aaaaaaaaaaaaaaaaaaa',
  receivedAt: '2026-12-08T10:00:00.000Z',
  method: 'POST',
  url: '/my/webhook/url',
  path: '/my/webhook/url',
  query: '',
  headers,
  body: Buffer.from(body),
  size: body.length,
  remoteAddress: '127.0.0.1',
  name: 'newMessage',
  targets: [],
});

const fitted = (e: WebhookEvent, columns: number): { line: string; roles: Map<string, string> } => {
  const pieces = fitPieces(summaryPieces(summarize(e)), columns);
  return { line: joinPieces(pieces), roles: new Map(pieces.map((p) => [p.role, p.text])) };
};

test('the platform line at 80, 100 and 160 columns: time, name, sender and 20+ characters of the message first', () => {
  const bodies = [readFileSync(new URL('../../../test/fixtures/new-message.json', import.meta.url), 'utf8'), JSON.stringify(newMessage()), JSON.stringify(newMessage({ agent: true, channel: 'webchat' }))];
  for (const body of bodies)
    for (const columns of [80, 100, 160]) {
      const { line, roles } = fitted(event(body), columns);
      assert.ok(displayWidth(line) <= columns, `${columns}: ${line}`);
      for (const role of ['time', 'name']) assert.ok(roles.has(role), `${columns}: ${role} in ${line}`);
      assert.ok(roles.has('sender') || roles.has('agent'), `${columns}: the sender in ${line}`);
      const content = roles.get('content') ?? '';
      const whole = summaryPieces(summarize(event(body))).find((p) => p.role === 'content')!.text;
      assert.ok(content === whole || content.length >= 20, `${columns}: the message "${content}" in ${line}`);
      for (const [role, text] of roles) if (text !== summaryPieces(summarize(event(body))).find((p) => p.role === role)?.text) assert.ok(text.endsWith('…'), `a cut ${role} ends in …: ${text}`);
    }
});

test('a long message keeps the room it can have; a narrow terminal still gets a line that fits', () => {
  const long = JSON.stringify(newMessage()).replace('Hello, is my order on its way?', `Hello, ${'very '.repeat(40)}long`);
  const at160 = fitted(event(long), 160);
  assert.ok(displayWidth(at160.line) === 160, at160.line);
  assert.ok(at160.roles.get('content')!.endsWith('…'));
  for (const columns of [40, 30, 20]) assert.ok(displayWidth(fitted(event(long), columns).line) <= columns);
});

test('a GitHub push at 80 columns keeps its request and the start of its preview', () => {
  const body = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'octo-org/a-repository-with-a-long-name' }, sender: { login: 'octocat' }, pusher: { name: 'x' } });
  const e = { ...event(body, [['content-type', 'application/json'], ['x-github-event', 'push']]), name: 'push', path: '/hooks/github/with/a/long/path' };
  const { line, roles } = fitted(e, 80);
  assert.ok(displayWidth(line) <= 80, line);
  assert.ok((roles.get('preview') ?? '').length >= 20, line);
  assert.ok(roles.has('request'), line);
});
