import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Cli, run, runCli, tempDir } from './helpers/cli.js';
import { header, startApp, type RecordingApp } from './helpers/app.js';
import { postJson, sha256 } from './helpers/http.js';
import { freePort } from './helpers/net.js';
import { type RelayServer, type RelayServerOptions, startRelayServer } from './helpers/relay-server.js';
import { query } from './helpers/store.js';
import { waitFor } from './helpers/wait.js';

const SECRET = 'relay-secret';

/** A GitHub push as GitHub sends it: pretty-printed bytes, signed. */
function githubPush(n: number): { body: string; headers: Record<string, string> } {
  const body = `{\n  "ref": "refs/heads/main",\n  "n": ${n},\n  "size": 1.0,\n  "repository": { "full_name": "octo/repo" },\n  "sender": { "login": "octocat" }\n}\n`;
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  return { body, headers: { 'x-github-event': 'push', 'x-github-delivery': `d-${n}`, 'x-hub-signature-256': signature, 'user-agent': 'GitHub-Hookshot/1' } };
}

interface Scene {
  server: RelayServer;
  app: RecordingApp;
  cli: Cli;
  store: string;
  channel: string;
}

async function relayScene(t: TestContext, server: RelayServerOptions, args: string[] = [], store?: string, inspect = false): Promise<Scene> {
  const relay = await startRelayServer(server);
  const app = await startApp();
  const temp = store ? undefined : tempDir();
  const dir = store ?? temp!.dir;
  const channel = relay.channelUrl();
  const cli = runCli(['--json', '--port', '0', ...(inspect ? ['--inspect-port', '0'] : ['--no-inspect']), '--store', dir, '--relay', channel, '-f', app.url, '--secret', `github:${SECRET}`, ...args], {
    WEBHOOK_LISTEN_RELAY_STALL_MS: '1500',
  });
  t.after(async () => {
    await cli.stop('SIGKILL');
    await relay.stop();
    await app.close();
    temp?.cleanup();
  });
  await cli.waitForRecord((r) => r.type === 'relay' && r.state === 'connected', 'the relay connected');
  return { server: relay, app, cli, store: dir, channel };
}

const events = (cli: Cli): Record<string, any>[] => cli.records().filter((r) => r.type === 'event');

test('through a gosmee channel: the exact bytes, stored, named, sig ✓, forwarded byte for byte', async (t) => {
  const { app, cli, channel } = await relayScene(t, { kind: 'gosmee' });
  const ready = cli.records().find((r) => r.type === 'ready')!;
  assert.deepEqual(ready.relay, { channel });
  assert.equal(ready.tunnel, 'off', 'no tunnel unless asked for');
  const push = githubPush(1);
  const posted = await postJson(channel, push.body, push.headers);
  assert.equal(posted.status, 202);
  const [got] = await app.waitForCount(1);
  assert.equal(sha256(got!.body), sha256(Buffer.from(push.body)), 'byte for byte');
  assert.equal(header(got!, 'x-hub-signature-256'), push.headers['x-hub-signature-256']);
  assert.equal(header(got!, 'x-github-delivery'), 'd-1');
  const record = await cli.waitForRecord((r) => r.type === 'event', 'the event record');
  assert.equal(record.event, 'push');
  assert.deepEqual(record.signature, { scheme: 'github', valid: true });
  assert.equal(record.via.relay, 'gosmee');
  assert.equal(record.via.reserialised, false);
  assert.equal(record.headers.host, undefined, "the relay's own Host is not the sender's");
  assert.doesNotMatch(cli.stderr, /re-serialised/);
});

test('through a smee.io channel: JSON-equal, marked re-serialised, the signature failure explained, said once', async (t) => {
  const { app, cli, channel, store } = await relayScene(t, { kind: 'smee' }, [], undefined, true);
  for (const n of [1, 2]) {
    const push = githubPush(n);
    assert.equal((await postJson(`${channel}?x=${n}`, push.body, push.headers)).status, 200);
  }
  const got = await app.waitForCount(2);
  assert.deepEqual(JSON.parse(got[0]!.body.toString()), JSON.parse(githubPush(1).body), 'the same JSON');
  assert.notEqual(got[0]!.body.toString(), githubPush(1).body, 'not the same bytes: smee.io parsed them');
  assert.equal(got[0]!.url, '/?x=1', 'the query smee.io passes');
  const record = (await waitFor(() => events(cli)[1], 'two event records'))!;
  assert.equal(record.via.reserialised, true);
  assert.equal(record.signature.valid, false);
  assert.match(record.signature.reason, /re-serialised body, not the signed bytes; a gosmee server keeps them/);
  assert.match(record.summary, /re-serialised by the relay/);
  assert.equal(cli.stderr.match(/signatures over the body cannot hold through it/g)?.length, 1, 'said once');
  const show = await run(['show', record.id, '--store', store]);
  assert.match(show.stdout, /via       smee\.io channel http:\/\/127\.0\.0\.1:\d+\/test-channel — body re-serialised by the relay/);
  const inspector = cli.records().find((r) => r.type === 'ready')!.inspectorUrl as string;
  const detail = (await (await fetch(`${inspector}/_webhook-listen/api/events/${record.id}`)).json()) as { via: Record<string, unknown>; pieces: { text: string }[] };
  assert.deepEqual(detail.via, { relay: 'smee', channel, reserialised: true, deliveryId: 'x-github-delivery:d-2' });
  assert.ok(detail.pieces.some((p) => p.text === 're-serialised by the relay'), 'marked in the inspector');
});

test('the stream dropped five times during a burst of 500, and the last 50 sent again: 500 stored, once each', { timeout: 60_000 }, async (t) => {
  const { server, app, cli, channel, store } = await relayScene(t, { kind: 'gosmee', redis: true });
  let dropped = 0;
  for (let n = 0; n < 500; n++) {
    const push = githubPush(n);
    assert.equal((await postJson(channel, push.body, push.headers)).status, 202);
    if (n % 100 === 50) {
      // Dropped, and the next events sent while it reconnects.
      await waitFor(() => server.subscribers() === 1, 'subscribed');
      server.drop();
      dropped++;
    }
  }
  await waitFor(() => server.subscribers() === 1, 'subscribed again');
  server.replayLast(50);
  await waitFor(() => query<{ n: number }>(store, 'SELECT count(*) AS n FROM events')[0]!.n >= 500, '500 stored', 30_000);
  await app.waitForCount(500, 30_000);
  assert.equal(dropped, 5);
  await waitFor(() => cli.records().filter((r) => r.type === 'relay' && r.state === 'duplicate').length >= 50, 'the replayed 50 said as duplicates');
  assert.equal(await cli.stop('SIGINT'), 0);
  assert.equal(query<{ n: number }>(store, 'SELECT count(*) AS n FROM events')[0]!.n, 500);
  const ns = app.received.map((r) => JSON.parse(r.body.toString()).n as number);
  assert.deepEqual([...new Set(ns)].sort((a, b) => a - b), [...Array(500).keys()], 'each of the 500 reached the app');
  assert.equal(ns.length, 500, 'once each');
  assert.ok(server.resumedFrom.filter(Boolean).length >= 5, 'every reconnect asked to resume from the last stored id');
});

test('a stalled stream (socket open, no bytes) is replaced; a restart resumes from the stored id', { timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const first = await relayScene(t, { kind: 'gosmee', redis: true }, [], dir);
  const { server, channel, app } = first;
  assert.equal((await postJson(channel, githubPush(1).body, githubPush(1).headers)).status, 202);
  await app.waitForCount(1);
  server.stall();
  await first.cli.waitForRecord((r) => r.type === 'relay' && r.state === 'reconnecting' && /no data for/.test(r.message), 'the stall noticed');
  await first.cli.waitForRecord((r) => r.type === 'relay' && r.state === 'back', 'back');
  assert.equal((await postJson(channel, githubPush(2).body, githubPush(2).headers)).status, 202);
  await app.waitForCount(2);
  assert.equal(await first.cli.stop('SIGINT'), 0);
  // Away: two more are sent; the next start gets them from the gosmee server, after the last id it stored.
  for (const n of [3, 4]) assert.equal((await postJson(channel, githubPush(n).body, githubPush(n).headers)).status, 202);
  const again = runCli(['--json', '--port', '0', '--no-inspect', '--store', dir, '--relay', '-f', app.url]);
  t.after(() => again.stop('SIGKILL'));
  const connected = await again.waitForRecord((r) => r.type === 'relay' && r.state === 'connected', 'connected again');
  assert.match(connected.message, /resuming after \d+-\d+/, 'the kept channel, resumed');
  await app.waitForCount(4);
  assert.deepEqual(
    app.received.map((r) => JSON.parse(r.body.toString()).n),
    [1, 2, 3, 4],
  );
});

test('smee.io keeps nothing: a restart says so; the server down at start is said once and waited for', { timeout: 30_000 }, async (t) => {
  const port = await freePort();
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const cli = runCli(['--json', '--port', '0', '--no-inspect', '--store', dir, '--relay', `smee:http://127.0.0.1:${port}/chan`]);
  t.after(() => cli.stop('SIGKILL'));
  const offline = await cli.waitForRecord((r) => r.type === 'relay' && r.state === 'offline', 'the offline line');
  assert.match(offline.message, /cannot subscribe to http:\/\/127\.0\.0\.1:\d+\/chan \(ECONNREFUSED\) — retrying in the background/);
  const server = await startRelayServer({ kind: 'smee', port });
  t.after(() => server.stop());
  const connected = await cli.waitForRecord((r) => r.type === 'relay' && r.state === 'connected', 'connected once the server is up');
  assert.match(connected.message, /smee\.io keeps nothing/);
  assert.equal(cli.records().filter((r) => r.type === 'relay' && r.state === 'offline').length, 1, 'said once');
  assert.equal((await postJson(`http://127.0.0.1:${port}/chan`, '{"a":1}')).status, 200);
  await cli.waitForRecord((r) => r.type === 'event', 'the event');
});

test('bad relay messages are refused with a reason, nothing stored, the stream goes on; an endless line keeps memory flat', { timeout: 90_000 }, async (t) => {
  const { server, cli, channel, store } = await relayScene(t, { kind: 'gosmee', pingMs: 200 }, ['--max-body', '1mb']);
  server.raw('data: not json\n\n');
  server.raw('data: {"x-github-event":"push"}\n\n');
  server.raw('data: {"x-a":{"b":1},"bodyB":"e30="}\n\n');
  server.raw('data: [1,2]\n\n');
  const reasons = await waitFor(() => {
    const r = cli.records().filter((x) => x.type === 'relay' && x.state === 'refused');
    return r.length >= 4 ? r.map((x) => x.message as string) : undefined;
  }, 'four refusals');
  assert.match(reasons[0]!, /not JSON/);
  assert.match(reasons[1]!, /no body in the message/);
  assert.match(reasons[2]!, /the header x-a is not a string/);
  assert.match(reasons[3]!, /not a JSON object/);
  // 32 MB in one line (32 times --max-body), in 1 MB writes: skipped as it comes, never buffered whole.
  const chunk = 'x'.repeat(1_000_000);
  server.raw('data: {"bodyB":"');
  for (let i = 0; i < 32; i++) server.raw(chunk);
  server.raw('"}\n\n');
  await cli.waitForRecord((r) => r.type === 'relay' && r.state === 'refused' && /over --max-body/.test(r.message), 'the long line refused', 45_000);
  const rss = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${cli.child.pid}/status`, 'utf8'))![1]) / 1024;
  assert.ok(rss < 200, `peak RSS ${rss.toFixed(0)} MB`);
  assert.equal((await postJson(channel, githubPush(1).body, githubPush(1).headers)).status, 202);
  await cli.waitForRecord((r) => r.type === 'event', 'a good event after all that');
  assert.equal(query<{ n: number }>(store, 'SELECT count(*) AS n FROM events')[0]!.n, 1);
});

test('relay new asks the server for a channel (smee.io: a redirect; gosmee: text) and keeps it; --passthrough --relay is refused', async (t) => {
  for (const kind of ['smee', 'gosmee'] as const) {
    const server = await startRelayServer({ kind });
    t.after(() => server.stop());
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const made = await run(['relay', 'new', '--server', server.url, '--store', dir]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout.trim(), new RegExp(`^${server.url}/[A-Za-z0-9_-]{16}$`));
    assert.match(made.stderr, kind === 'smee' ? /a smee\.io channel/ : /a gosmee channel/);
    const kept = query<{ channel: string; relay: string }>(dir, 'SELECT channel, relay FROM relay_channels').map((r) => ({ ...r }));
    assert.deepEqual(kept, [{ channel: made.stdout.trim(), relay: kind }]);
  }
  const refused = await run(['--relay', 'https://smee.io/abc', '--passthrough', '-f', '3000']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--passthrough cannot be used with --relay: a relay answers the sender itself/);
  const bad = await run(['--relay', 'https://smee.io/']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no channel in that URL/);
});

test("GitHub's 329 example payloads through a relay: gosmee keeps every byte and signature; smee.io keeps the JSON, not the bytes", { timeout: 120_000 }, async (t) => {
  const require = createRequire(import.meta.url);
  const groups = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, unknown>[] }[];
  // Pretty-printed bytes: what a re-serialising relay cannot give back.
  const payloads = groups.flatMap((g) => g.examples.map((e, i) => ({ name: g.name, body: JSON.stringify(e, null, 2), delivery: `${g.name}-${i}` })));
  assert.equal(payloads.length, 329);
  for (const kind of ['gosmee', 'smee'] as const) {
    const { app, cli, channel } = await relayScene(t, { kind });
    for (const p of payloads) {
      const signature = `sha256=${createHmac('sha256', SECRET).update(p.body).digest('hex')}`;
      const reply = await postJson(channel, p.body, { 'x-github-event': p.name, 'x-github-delivery': p.delivery, 'x-hub-signature-256': signature });
      assert.ok(reply.status === 202 || reply.status === 200, `${kind}: ${p.delivery} ${reply.status}`);
    }
    const got = await app.waitForCount(payloads.length, 60_000);
    const records = await waitFor(() => (events(cli).length >= payloads.length ? events(cli) : undefined), `${kind}: every event record`, 30_000);
    for (const [i, p] of payloads.entries()) {
      const r = records[i]!;
      assert.equal(r.via.deliveryId, `x-github-delivery:${p.delivery}`, `${kind}: in order`);
      assert.ok(r.event === p.name || String(r.event).startsWith(`${p.name}.`), `${kind}: ${p.delivery} named ${r.event}`);
      if (kind === 'gosmee') {
        assert.equal(sha256(got[i]!.body), sha256(Buffer.from(p.body)), `${p.delivery} byte for byte`);
        assert.equal(r.signature.valid, true, `${p.delivery} sig ✓`);
      } else {
        assert.deepEqual(JSON.parse(got[i]!.body.toString()), JSON.parse(p.body), `${p.delivery} JSON-equal`);
        assert.equal(r.via.reserialised, true);
        assert.equal(r.signature.valid, false);
        assert.match(r.signature.reason, /re-serialised body/);
      }
    }
  }
});
