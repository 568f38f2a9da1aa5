import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { sign as githubSign } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { type SignatureCheck, verifySignature, parseSecret } from '../src/core/signature.js';
import { run, startListening } from './helpers/cli.js';
import { startApp } from './helpers/app.js';
import { postJson, send } from './helpers/http.js';
import { waitFor } from './helpers/wait.js';

const require = createRequire(import.meta.url);
interface Example {
  name: string;
  examples: Record<string, unknown>[];
}
const githubExamples = require('@octokit/webhooks-examples') as Example[];

const now = new Date('2026-11-26T10:00:00.000Z');
const at = (d: Date): string => d.toISOString();
const check = (headers: [string, string][], body: string | Buffer, secrets: string[], extra: { signatureHeader?: string; receivedAt?: Date } = {}): SignatureCheck | undefined =>
  verifySignature({ headers, body: Buffer.from(body), receivedAt: at(extra.receivedAt ?? now) }, { secrets: secrets.map(parseSecret), signatureHeader: extra.signatureHeader });
const flip = (s: string): string => s.replace(/"/, "'");

test('GitHub: bodies signed by @octokit/webhooks-methods verify; a flipped byte, a wrong secret, a malformed header do not', async () => {
  const body = JSON.stringify({ action: 'opened', number: 1 });
  const sig = await githubSign('s3cret', body);
  assert.deepEqual(check([['X-Hub-Signature-256', sig]], body, ['s3cret']), { scheme: 'github', valid: true });
  assert.deepEqual(check([['X-Hub-Signature-256', sig]], flip(body), ['s3cret']), { scheme: 'github', valid: false, reason: 'no matching signature' });
  assert.equal(check([['X-Hub-Signature-256', sig]], body, ['wrong'])!.reason, 'no matching signature');
  assert.equal(check([['X-Hub-Signature-256', 'sha1=abc']], body, ['s3cret'])!.reason, 'header malformed');
  assert.equal(check([['X-Hub-Signature-256', sig]], body, ['stripe:s3cret'])!.reason, 'no secret for this scheme');
  assert.deepEqual(check([['X-Hub-Signature-256', sig]], body, ['github:s3cret']), { scheme: 'github', valid: true });
});

test("Stripe: headers from stripe's generateTestHeaderString verify, within the 5-minute tolerance only", () => {
  const stripe = new Stripe('sk_test_x');
  const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'invoice.paid', data: { object: { object: 'invoice', id: 'in_1' } } });
  const secret = 'whsec_test_stripe';
  const t = Math.floor(now.getTime() / 1000);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: t });
  assert.deepEqual(check([['Stripe-Signature', header]], payload, [secret]), { scheme: 'stripe', valid: true });
  assert.equal(check([['Stripe-Signature', header]], flip(payload), [secret])!.reason, 'no matching signature');
  assert.equal(check([['Stripe-Signature', header]], payload, ['whsec_other'])!.reason, 'no matching signature');
  const old = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: t - 600 });
  assert.equal(check([['Stripe-Signature', old]], payload, [secret])!.reason, 'timestamp outside tolerance');
  assert.equal(check([['Stripe-Signature', 'v1=zz']], payload, [secret])!.reason, 'header malformed');
});

test('Standard Webhooks and Svix: signed by the standardwebhooks library, whsec_ secrets', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const wh = new StandardWebhook(secret);
  const payload = JSON.stringify({ type: 'user.created', timestamp: at(now), data: { id: 'u_1' } });
  const signature = wh.sign('msg_1', now, payload);
  const headers = (prefix: string, sig = signature): [string, string][] => [[`${prefix}-id`, 'msg_1'], [`${prefix}-timestamp`, String(Math.floor(now.getTime() / 1000))], [`${prefix}-signature`, sig]];
  assert.deepEqual(check(headers('webhook'), payload, [secret]), { scheme: 'standard', valid: true });
  assert.deepEqual(check(headers('svix'), payload, [`svix:${secret}`]), { scheme: 'standard', valid: true });
  assert.equal(check(headers('webhook'), flip(payload), [secret])!.reason, 'no matching signature');
  assert.equal(check(headers('webhook'), payload, ['whsec_AAAAAAAAAAAAAAAAAAAAAAAA'])!.reason, 'no matching signature');
  assert.equal(check(headers('webhook'), payload, [secret], { receivedAt: new Date(now.getTime() + 3_600_000) })!.reason, 'timestamp outside tolerance');
  assert.equal(check(headers('webhook', 'v2,abc'), payload, [secret])!.reason, 'header malformed');
});

test("Shopify and Slack (signed as their docs say), and a generic HMAC header in hex or base64", () => {
  const body = '{"id":1,"topic":"orders/create"}';
  const shopify = createHmac('sha256', 'shpss').update(body).digest('base64');
  assert.deepEqual(check([['X-Shopify-Hmac-Sha256', shopify]], body, ['shpss']), { scheme: 'shopify', valid: true });
  assert.equal(check([['X-Shopify-Hmac-Sha256', shopify]], flip(body), ['shpss'])!.reason, 'no matching signature');
  const ts = String(Math.floor(now.getTime() / 1000));
  const slack = `v0=${createHmac('sha256', 'slk').update(`v0:${ts}:${body}`).digest('hex')}`;
  const slackHeaders: [string, string][] = [['X-Slack-Signature', slack], ['X-Slack-Request-Timestamp', ts]];
  assert.deepEqual(check(slackHeaders, body, ['slack:slk']), { scheme: 'slack', valid: true });
  assert.equal(check(slackHeaders, body, ['slk'], { receivedAt: new Date(now.getTime() + 600_000) })!.reason, 'timestamp outside tolerance');
  assert.equal(check(slackHeaders, body, ['nope'])!.reason, 'no matching signature');
  const hex = createHmac('sha256', 'gen').update(body).digest('hex');
  const b64 = createHmac('sha256', 'gen').update(body).digest('base64');
  assert.deepEqual(check([['X-Signature', `sha256=${hex}`]], body, ['gen'], { signatureHeader: 'X-Signature' }), { scheme: 'generic', valid: true });
  assert.deepEqual(check([['X-Signature', b64]], body, ['gen'], { signatureHeader: 'x-signature' }), { scheme: 'generic', valid: true });
  assert.equal(check([['X-Signature', 'not base64!']], body, ['gen'], { signatureHeader: 'x-signature' })!.reason, 'header malformed');
  assert.equal(check([['X-Other', 'x']], body, ['gen']), undefined, 'no signature header: nothing to say');
});

test("naming over GitHub's published examples: every one is named by X-GitHub-Event with its action; --events check_run takes check_run.*", async (t) => {
  const app = await startApp();
  const wl = await startListening(['-f', app.url, '--events', 'check_run,PUSH']);
  t.after(async () => {
    await wl.cleanup();
    await app.close();
  });
  const expected: string[] = [];
  let forwardable = 0;
  for (const { name, examples } of githubExamples)
    for (const example of examples) {
      const action = typeof example.action === 'string' ? example.action : undefined;
      expected.push(action ? `${name}.${action}` : name);
      if (name === 'check_run' || name === 'push') forwardable++;
      const reply = await send(wl.url, {
        body: JSON.stringify(example),
        headers: { 'content-type': 'application/json', 'x-github-event': name, 'x-github-delivery': `d-${expected.length}`, 'user-agent': 'GitHub-Hookshot/044aadd' },
      });
      assert.equal(reply.status, 200);
    }
  assert.ok(expected.length > 300, `${expected.length} examples`);
  await app.waitForCount(forwardable, 20_000);
  assert.ok(forwardable > 0);
  await wl.cli.stop('SIGINT');
  // Filtered events are stored too: the store has every name.
  const all = await run(['events', '--json', '--limit', '0', '--store', wl.store]);
  const names = all.stdout.trim().split('\n').map((l) => JSON.parse(l).event as string).reverse();
  assert.deepEqual(names, expected);
  assert.equal(app.received.length, forwardable, 'check_run.* and push forwarded, the rest filtered');
  const listed = await run(['events', '--event', 'check_run.created', '--limit', '0', '--store', wl.store]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stdout.trim().split('\n').length, expected.filter((n) => n === 'check_run.created').length);
});

test('a BOM does not hide JSON; GitHub and Stripe events get a short summary', async (t) => {
  const wl = await startListening([]);
  t.after(() => wl.cleanup());
  await send(wl.url, { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"event":"newMessage","message":{"content":"hi"}}')]), headers: { 'content-type': 'application/json' } });
  const pr = githubExamples.find((e) => e.name === 'pull_request')!.examples.find((e) => e.action === 'opened')! as { repository: { full_name: string }; number: number; sender: { login: string } };
  await postJson(wl.url, JSON.stringify(pr), { 'x-github-event': 'pull_request' });
  await postJson(wl.url, JSON.stringify({ id: 'evt_1', object: 'event', type: 'invoice.paid', data: { object: { object: 'invoice', id: 'in_123' } } }));
  await waitFor(() => wl.cli.records().filter((r) => r.type === 'event').length === 3, 'three events');
  const [bom, gh, st] = wl.cli.records().filter((r) => r.type === 'event');
  assert.equal(bom!.event, 'newMessage');
  assert.equal(bom!.bodyKind, 'json');
  assert.equal(gh!.event, 'pull_request.opened');
  assert.match(gh!.summary, new RegExp(`${pr.repository.full_name} · #${pr.number} .* · by ${pr.sender.login}`));
  assert.equal(st!.event, 'invoice.paid');
  assert.match(st!.summary, /evt_1 · invoice in_123/, 'the event id, as stripe listen shows it');
});

test('checks and workflows show their name and outcome; gzip is marked on the platform line; an image says image', async (t) => {
  // Issue 27, item 4: check_run lines said only the repository; a gzip body looked like any other; image/png said binary.
  const wl = await startListening([]);
  t.after(() => wl.cleanup());
  const checkRun = githubExamples.find((e) => e.name === 'check_run')!.examples.find((e) => (e as { check_run: { conclusion?: string } }).check_run.conclusion)! as {
    check_run: { name: string; conclusion: string };
  };
  await postJson(wl.url, JSON.stringify(checkRun), { 'x-github-event': 'check_run' });
  await postJson(wl.url, JSON.stringify({ action: 'completed', workflow_run: { name: 'CI', status: 'completed', conclusion: 'failure' }, repository: { full_name: 'o/r' } }), { 'x-github-event': 'workflow_run' });
  await send(wl.url, { body: gzipSync(Buffer.from('{"event":"newMessage","message":{"content":"zipped hello","sender":{"name":"Ana"}}}')), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
  await send(wl.url, { body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]), headers: { 'content-type': 'image/png' } });
  const records = await waitFor(() => {
    const r = wl.cli.records().filter((x) => x.type === 'event');
    return r.length === 4 ? r : undefined;
  }, 'four events');
  assert.match(records[0]!.summary, new RegExp(`${checkRun.check_run.name} ${checkRun.check_run.conclusion}`));
  assert.match(records[1]!.summary, /o\/r · CI failure/);
  assert.match(records[2]!.summary, /zipped hello.*gzip/);
  assert.match(records[3]!.summary, /image \(png\) 12 B/);
});

test('signatures in the terminal line, --json, events, show; --forward-to names=URL routes two event types to two apps', async (t) => {
  const ci = await startApp();
  const messages = await startApp();
  const all = await startApp();
  const wl = await startListening(['-f', `check_run=${ci.url}/ci`, '-f', `newMessage,conversationUpdated=${messages.url}/messages`, '-f', all.url, '--secret', 'github:gh-secret'], {
    env: { WEBHOOK_LISTEN_SECRET: 'stripe:whsec_env' },
  });
  t.after(async () => {
    await wl.cleanup();
    await Promise.all([ci.close(), messages.close(), all.close()]);
  });
  const run1 = JSON.stringify({ action: 'created', check_run: { id: 1 } });
  await postJson(wl.url, run1, { 'x-github-event': 'check_run', 'x-hub-signature-256': await githubSign('gh-secret', run1) });
  await postJson(wl.url, run1, { 'x-github-event': 'check_run', 'x-hub-signature-256': await githubSign('wrong', run1) });
  await postJson(wl.url, '{"event":"newMessage","message":{"content":"hi"}}');
  await postJson(wl.url, '{"event":"conversationUpdated"}');
  const stripe = new Stripe('sk_test_x');
  const payload = '{"id":"evt_9","object":"event","type":"charge.succeeded","data":{"object":{"object":"charge","id":"ch_1"}}}';
  await postJson(wl.url, payload, { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_env' }) });
  await all.waitForCount(5);
  await ci.waitForCount(2);
  await messages.waitForCount(2);
  assert.deepEqual(ci.received.map((r) => r.url), ['/ci', '/ci']);
  assert.deepEqual(messages.received.map((r) => JSON.parse(r.body.toString()).event), ['newMessage', 'conversationUpdated']);
  assert.equal(wl.ready.routes[`${ci.url}/ci`][0], 'check_run');
  await waitFor(() => wl.cli.records().filter((r) => r.type === 'event').length === 5, 'five event records');
  const events = wl.cli.records().filter((r) => r.type === 'event');
  assert.deepEqual(events.map((e) => e.signature ?? null), [
    { scheme: 'github', valid: true },
    { scheme: 'github', valid: false, reason: 'no matching signature' },
    null,
    null,
    { scheme: 'stripe', valid: true },
  ]);
  assert.match(events[1]!.summary, /sig ✗ no matching signature/);
  await wl.cli.stop('SIGINT');
  const listed = await run(['events', '--store', wl.store, '--no-color']);
  assert.match(listed.stdout, /check_run\.created {2}sig ✗ no matching signature|sig ✗ no matching signature/);
  const shown = await run(['show', events[0]!.id, '--store', wl.store, '--json']);
  assert.deepEqual(JSON.parse(shown.stdout).signature, { scheme: 'github', valid: true });
});
