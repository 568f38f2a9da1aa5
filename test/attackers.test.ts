import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { run, runCli, startListening, tempDir } from './helpers/cli.js';
import { startApp } from './helpers/app.js';
import { gzipBomb, postJson, seedBytes, send, sha256 } from './helpers/http.js';
import { storeRecords } from './helpers/store.js';
import { freePort } from './helpers/net.js';
import { waitFor } from './helpers/wait.js';

const storedEvents = (dir: string): Record<string, any>[] => storeRecords(dir).filter((r) => r.t === 'event');


test('a gzip bomb is labelled "not decoded", still stored and forwarded byte for byte', async (t) => {
  const app = await startApp();
  const wl = await startListening(['-f', app.url]);
  t.after(async () => {
    await wl.cleanup();
    await app.close();
  });
  const bomb = gzipBomb(60);
  assert.ok(bomb.length < 100_000);
  const reply = await send(wl.url, { body: bomb, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
  assert.equal(reply.status, 200);
  const [got] = await app.waitForCount(1);
  assert.equal(sha256(got!.body), sha256(bomb), 'forwarded as received');
  const event = await wl.cli.waitForRecord((r) => r.type === 'event', 'the event');
  assert.equal(event.bodyKind, 'binary');
  assert.match(event.summary, /binary/);
  const stored = storedEvents(wl.store)[0]!;
  assert.equal(sha256(Buffer.from(stored.bodyBase64, 'base64')), sha256(bomb), 'stored as received');
  const shown = await run(['show', event.id, '--store', wl.store, '--no-color']);
  assert.match(shown.stdout, /gzip, \d+ bytes, not decoded: it would inflate past [\d.]+ [kM]B/);
});

test('the listener answers only to its own Host and never to a page in a browser; real webhook senders pass', async (t) => {
  const app = await startApp();
  const wl = await startListening(['-f', app.url]);
  t.after(async () => {
    await wl.cleanup();
    await app.close();
  });
  const port = new URL(wl.url).port;
  // DNS rebinding: a page at evil.example that resolves to 127.0.0.1.
  let r = await send(`${wl.url}/secret`, { method: 'GET', headers: { host: `evil.example:${port}` } });
  assert.equal(r.status, 403);
  // A no-cors POST from another site.
  r = await postJson(wl.url, '{"event":"newMessage"}', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' });
  assert.equal(r.status, 403);
  r = await postJson(wl.url, '{"event":"newMessage"}', { origin: 'https://evil.example' });
  assert.equal(r.status, 403, 'an Origin naming another site alone');
  r = await postJson(wl.url, '{"event":"newMessage"}', { 'sec-fetch-site': 'same-site' });
  assert.equal(r.status, 403);
  await wl.cli.waitForRecord((r2) => r2.type === 'refused' && r2.status === 403 && /Host evil\.example/.test(r2.reason), 'the refused record');

  // What senders really send: the platform's sample, GitHub's ping and a Stripe-style event, with their headers.
  const senders: [Buffer | string, Record<string, string>][] = [
    [seedBytes(), { 'user-agent': 'axios/1.6.8' }],
    ['{"zen":"Design for failure.","hook_id":1}', { 'user-agent': 'GitHub-Hookshot/abc123', 'x-github-event': 'ping', 'x-github-delivery': 'd1', 'x-hub-signature-256': 'sha256=00' }],
    ['{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1"}}}', { 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)', 'stripe-signature': 't=1,v1=00' }],
  ];
  for (const [body, headers] of senders) assert.equal((await postJson(wl.url, body, headers)).status, 200);
  await app.waitForCount(3);
  assert.equal(storedEvents(wl.store).length, 3, 'refused requests are neither stored nor forwarded');
  assert.match(wl.cli.stdout, /"type":"refused".*"reason":"a browser request from another site \(Sec-Fetch-Site: cross-site\)"/);

  // Bound to every interface, the user chose to be reachable by any name.
  const open = await startListening(['--host', '0.0.0.0']);
  t.after(() => open.cleanup());
  const p2 = new URL(open.url).port;
  assert.equal((await send(`http://127.0.0.1:${p2}/`, { body: '{}', headers: { host: `laptop.lan:${p2}` } })).status, 200);
});

test('every header is kept, a signature at the end of 1,500 included; past 64 KB of headers: 431 and a refused line', async (t) => {
  const wl = await startListening([]);
  t.after(() => wl.cleanup());
  const headers: [string, string][] = Array.from({ length: 1500 }, (_, i) => [`X-H${i}`, `v${i}`]);
  headers.push(['X-Signature', 'sha256=the-last-one']);
  assert.equal((await send(wl.url, { body: '{}', headers })).status, 200);
  const event = await wl.cli.waitForRecord((r) => r.type === 'event', 'the event');
  assert.equal(event.headers['X-Signature'], 'sha256=the-last-one');
  assert.equal(Object.keys(event.headers).filter((k) => k.startsWith('X-H')).length, 1500);

  const big: [string, string][] = Array.from({ length: 800 }, (_, i) => [`X-Big${i}`, 'z'.repeat(100)]);
  const status = await new Promise<number>((resolve) => {
    const req = request(wl.url, { method: 'POST', headers: Object.fromEntries(big) }, (res) => resolve(res.statusCode ?? 0));
    req.on('error', () => resolve(-1));
    req.end('{}');
  });
  assert.equal(status, 431);
  await wl.cli.waitForRecord((r) => r.type === 'refused' && r.status === 431, 'the refused record');
});

test('odd header names, deep nesting and terminal-unsafe characters in --json, events --json and show --json', async (t) => {
  const wl = await startListening([]);
  t.after(() => wl.cleanup());
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  const nasty = '{"event":"t","s":"a\u009b31m b\u009d c\u202ed","id":12345678901234567890}';
  const a = JSON.parse((await send(wl.url, { body: '{"event":"h"}', headers: [['__proto__', 'p'], ['constructor', 'c'], ['toString', 't'], ['Content-Type', 'application/json']] })).text).id;
  const b = JSON.parse((await postJson(wl.url, deep)).text).id;
  const c = JSON.parse((await postJson(wl.url, nasty)).text).id;
  // Lines, not records(): JSON.parse in this process overflows its own stack at depth 10,000.
  const eventLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('{"type":"event"'));
  await waitFor(() => eventLines(wl.cli.stdout).length === 3, 'three events');
  const check = (lines: string[], where: string): void => {
    const byId = new Map(lines.map((l) => [/"id":"([0-9a-z]+)"/.exec(l)![1]!, l]));
    const h = JSON.parse(byId.get(a)!).headers;
    assert.equal(Object.getOwnPropertyDescriptor(h, '__proto__')?.value, 'p', `${where}: __proto__ is a header`);
    assert.equal(h.constructor, 'c', where);
    assert.equal(h.toString, 't', where);
    assert.ok(byId.get(b)!.includes(`"body":${deep}`), `${where}: the deep body whole`);
    assert.equal(JSON.parse(byId.get(c)!).body.s, 'a\u009b31m b\u009d c\u202ed', `${where}: the text itself is kept`);
  };
  check(eventLines(wl.cli.stdout), '--json');
  const rawLines = wl.cli.stdout.split('\n').filter((l) => l.includes('"event":"t"'));
  assert.doesNotMatch(rawLines.join(''), /[\u0080-\u009f\u202a-\u202e]/, 'escaped as \\uXXXX on the wire');
  assert.match(rawLines[0]!, /"id":12345678901234567890/, 'no rounding');
  await wl.cli.stop('SIGINT');
  const events = await run(['events', '--json', '--limit', '0', '--store', wl.store]);
  assert.equal(events.code, 0, events.stderr);
  assert.doesNotMatch(events.stdout, /[\u0080-\u009f\u202a-\u202e]/);
  check(eventLines(events.stdout), 'events --json');
  const shown: string[] = [];
  for (const id of [a, b, c]) {
    const one = await run(['show', id, '--json', '--store', wl.store]);
    assert.equal(one.code, 0, `show --json ${id}: ${one.stderr}`);
    shown.push(one.stdout.trim());
  }
  check(shown, 'show --json');
});

test('-v prints a deeply nested body in linear space', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const cli = runCli(['--no-tunnel', '--no-inspect', '--port', '0', '--store', dir, '-v']);
  t.after(() => cli.stop('SIGKILL'));
  const m = await cli.waitForOutput(/Listening\s+(http:\/\/127\.0\.0\.1:\d+)/);
  const deep = '['.repeat(4500) + ']'.repeat(4500);
  assert.equal((await postJson(m[1]!, deep)).status, 200);
  await cli.waitForOutput(/… \(9\.0 kB in all\)/, 10_000);
  assert.equal(await cli.stop('SIGINT'), 0);
  assert.ok(cli.stdout.length < 300_000, `the pretty body is bounded (${cli.stdout.length} chars; O(depth²) was ~40 MB)`);
});

test('an oversized body whose sender gives up is still recorded, as too large, with the size it reached', async (t) => {
  const wl = await startListening(['--max-body', '1kb']);
  t.after(() => wl.cleanup());
  const port = Number(new URL(wl.url).port);
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /big HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      socket.write(`1400\r\n${'x'.repeat(0x1400)}\r\n`);
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 200);
    });
    socket.on('error', () => resolve());
  });
  const event = await wl.cli.waitForRecord((r) => r.type === 'event' && r.path === '/big', 'the aborted event');
  assert.equal(event.rejected, 'too-large');
  assert.ok(event.size >= 0x1400, `size reached: ${event.size}`);
});

test('usage slips: a bare port with a path, a host of digits, a tunnel host without scheme, a mistyped command, a target without --forward-to', async () => {
  const port = await freePort();
  const { dir, cleanup } = tempDir();
  try {
    const wl = await startListening(['-f', `${port}/my/webhook/url`], { store: dir });
    assert.deepEqual(wl.ready.targets, [`http://localhost:${port}/my/webhook/url`]);
    await wl.cleanup();
    const digits = await run(['send', '--to', 'http://21100/x']);
    assert.equal(digits.code, 2);
    assert.match(digits.stderr, /"21100" is not a host; for a port on this machine write localhost:21100/);
    const tunnel = await run(['--tunnel-host', 'localhost:21200', '--store', dir]);
    assert.equal(tunnel.code, 2);
    assert.match(tunnel.stderr, /a tunnel server needs its scheme: http:\/\/localhost:21200 or https:\/\/localhost:21200/);
    const typo = await run(['evnets']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown command 'evnets' — did you mean 'events'\?/);
    // A forward target typed as `ngrok http 3000` or `hookdeck listen 3000` takes one: the listener's shorthand for
    // --forward-to, before or after the options, and said in the banner (issue 27: it was exit 2 with a hint).
    const bare = await startListening(['21300'], { store: dir });
    assert.deepEqual(bare.ready.targets, ['http://localhost:21300']);
    assert.deepEqual(bare.ready.shorthand, ['21300']);
    await bare.cleanup();
    const habit = await startListening(['http', 'localhost:21301/hook'], { store: dir });
    assert.deepEqual(habit.ready.targets, ['http://localhost:21301/hook']);
    await habit.cleanup();
    const stray = await run(['--no-tunnel', '--store', dir, 'foo']);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /unexpected 'foo' — the listener takes flags \(see webhook-listen --help\), or your app's port or URL: webhook-listen 3000/);
    // `--secret "github:$SECRET"` with SECRET unset: said, not taken as the secret "github:".
    for (const secret of ['github:', '']) {
      const empty = await run(['--no-tunnel', '--store', dir, '--secret', secret]);
      assert.equal(empty.code, 2, empty.stdout + empty.stderr);
      assert.match(empty.stderr, /is the variable that should hold the secret set\?/);
    }
    const fromEnv = await run(['--no-tunnel', '--store', dir], { WEBHOOK_LISTEN_SECRET: 'stripe:' });
    assert.equal(fromEnv.code, 2, fromEnv.stdout + fromEnv.stderr);
    assert.match(fromEnv.stderr, /WEBHOOK_LISTEN_SECRET: nothing follows "stripe:"/);
    const listen = await run(['listen', '-f', '3000']);
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /the listener is webhook-listen itself, no command/);
  } finally {
    cleanup();
  }
});

test('a duration longer than a timer can wait (--forward-timeout 99999m, meant as "no timeout") is refused, not taken as 1 ms; so is a --max-body no process can hold', { timeout: 20_000 }, async () => {
  // Node's setTimeout fires after 1 ms for anything past 2^31 - 1 ms: every answer would have been given up on at once.
  const { dir, cleanup } = tempDir();
  try {
    for (const flag of ['--forward-timeout', '--retry-delay']) {
      const r = await run(['--no-tunnel', '--no-inspect', '--port', '0', '--store', dir, '-f', 'http://127.0.0.1:9/', flag, '99999m']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /must be at most 35791m \(about 24 days\)/);
      assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/);
    }
    const edge = await run(['--no-tunnel', '--no-inspect', '--port', '0', '--store', dir, '-f', 'http://127.0.0.1:9/', '--forward-timeout', '35792m']);
    assert.equal(edge.code, 2);
    // A body past ~512 MB cannot be made a string (decoded, printed, kept): a listener told --max-body 1gb crashed on one.
    const body = await run(['--no-tunnel', '--no-inspect', '--port', '0', '--store', dir, '--max-body', '1gb']);
    assert.equal(body.code, 2, body.stdout + body.stderr);
    assert.match(body.stderr, /must be at most 256mb/);
  } finally {
    cleanup();
  }
});

test('forward-loop headers stuffed with ids (60 KB of Webhook-Listen-Via) that this listener never gave out: answered 200, not taken for loops', async (t) => {
  const wl = await startListening([]);
  t.after(() => wl.cleanup());
  const fake = (i: number): string => `01k${String(i).padStart(23, '0')}`.slice(0, 26);
  const headers: [string, string][] = [['content-type', 'application/json']];
  for (let h = 0; h < 55; h++) headers.push(['Webhook-Listen-Via', Array.from({ length: 40 }, (_, i) => fake(h * 40 + i)).join(', ')]);
  // The listener's own first id, then the stuffed request: only ids it gave out make a loop.
  const first = await send(wl.url, { headers: { 'content-type': 'application/json' }, body: seedBytes() });
  assert.equal(first.status, 200);
  const replies = await Promise.all(Array.from({ length: 20 }, () => send(wl.url, { headers, body: seedBytes(), timeoutMs: 30_000 })));
  assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
  await wl.cli.waitForRecord(() => wl.cli.records().filter((r) => r.type === 'event').length === 21, 'the 21 events');
  assert.equal(wl.cli.records().filter((r) => r.type === 'event' && r.rejected === 'loop').length, 0);
});

test('--json with a body past 32 MB: the record says bodyTruncated instead of holding it, and the listener lives on', { timeout: 60_000 }, async (t) => {
  // Issue 25, item 11: a 256 MB body of C1 characters, escaped into one --json line (6 characters each), was past the
  // longest string V8 makes and killed the process. Past the bound, the record leaves the body out.
  const wl = await startListening(['--max-body', '40mb', '--no-inspect']);
  t.after(() => wl.cleanup());
  const big = Buffer.alloc(33_000_000, 0x61);
  const reply = await send(wl.url, { body: big, headers: { 'content-type': 'text/plain' } });
  assert.equal(reply.status, 200);
  const record = await wl.cli.waitForRecord((r) => r.type === 'event', 'the big event', 30_000);
  assert.equal(record.bodyTruncated, true);
  assert.equal(record.body, undefined);
  assert.equal(record.size, 33_000_000);
  assert.equal((await postJson(wl.url, seedBytes())).status, 200, 'still listening');
  const small = await wl.cli.waitForRecord((r) => r.type === 'event' && r.bodyKind === 'json', 'the next event');
  assert.equal(small.bodyTruncated, undefined);
});
