import { test } from 'node:test';
import { quietThenPost } from './helpers/tunnel-quiet.js';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { runCli, startListening, tempDir, type Cli } from './helpers/cli.js';
import { startApp } from './helpers/app.js';
import { send, seedBytes } from './helpers/http.js';
import { hostFor, startLtServer, tunnelId, type LtServer } from './helpers/lt-server.js';
import { startTunnelScene } from './helpers/tunnel-scene.js';
import { freePort } from './helpers/net.js';
import { sleep, waitFor } from './helpers/wait.js';

function startTunnelled(server: LtServer, args: string[], store: string, env: Record<string, string> = {}): Cli {
  return runCli(['--json', '--port', '0', '--inspect-port', '0', '--store', store, '--tunnel-host', server.url, ...args], env);
}

// node's header timeout used to answer the client's idle pooled sockets 408 (20 s). Shortened to 1 s here, so that
// 3 s of quiet is three times past it; test:stress keeps one real 30 s quiet at the default.
test('after a quiet longer than the header timeout, webhooks through the tunnel are still answered 200, recorded and forwarded', async (t) => {
  await quietThenPost(t, 3000, 1000);
});

test('a tunnel the server forgot (404 for our subdomain, sockets still up) is noticed and re-created with the same URL', async (t) => {
  const { server, app, cli, id, postThrough } = await startTunnelScene(t, { env: { WEBHOOK_LISTEN_TUNNEL_CHECK_MS: '1000' } });
  const times: number[] = [];
  for (let round = 1; round <= 5; round++) {
    const forgotAt = Date.now();
    server.forget(id);
    assert.equal((await postThrough('/lost', seedBytes())).status, 404, 'the server answers 404 for a tunnel it forgot');
    const notices = (state: string) => cli.records().filter((r) => r.type === 'tunnel' && r.state === state);
    await waitFor(() => notices('reconnecting').length >= round, `re-creation ${round}\n${cli.stderr}`, 15_000);
    const back = await waitFor(() => notices('open')[round - 1], `reopen ${round}\n${cli.stderr}`, 15_000);
    times.push(Date.now() - forgotAt);
    assert.equal(tunnelId(back.publicUrl), id, 'the same subdomain was asked for and given');
    assert.equal((await postThrough(`/back-${round}`, seedBytes())).status, 200);
  }
  const reconnecting = cli.records().find((r) => r.type === 'tunnel' && r.state === 'reconnecting')!;
  assert.match(reconnecting.message, /stopped reaching this listener \(the tunnel server no longer knows this tunnel \(404\)\) — re-creating/);
  assert.match(cli.stderr, /tunnel {2}the public URL stopped reaching this listener/, 'the status line is on stderr too');
  await app.waitForCount(5);
  assert.deepEqual(
    app.received.map((r) => r.url),
    ['/back-1', '/back-2', '/back-3', '/back-4', '/back-5'],
    'the liveness checks are never events: not stored, printed or forwarded',
  );
  // The event lines are flushed once per turn: the app may have its copy a moment before stdout has the line.
  await waitFor(() => cli.records().filter((r) => r.type === 'event').length >= 5, 'five event records');
  assert.equal(cli.records().filter((r) => r.type === 'event').length, 5);
  const sorted = [...times].sort((a, b) => a - b);
  process.stdout.write(`# dead tunnel noticed and back (check every 1 s), 5 runs: ${times.join(', ')} ms; median ${sorted[2]} ms\n`);
});

test('the public URL stays the same across restarts; --subdomain wins; --new-url picks a new one; --json shows it on stderr', async (t) => {
  const server = await startLtServer();
  const { dir, cleanup } = tempDir();
  t.after(async () => {
    await server.stop();
    cleanup();
  });
  const run = async (args: string[] = []): Promise<{ id: string; cli: Cli }> => {
    const cli = startTunnelled(server, args, dir);
    const ready = await cli.waitForRecord((r) => r.type === 'ready' && r.publicUrl, 'ready with a public URL');
    await cli.stop('SIGINT');
    return { id: tunnelId(ready.publicUrl), cli };
  };
  const first = await run();
  assert.match(first.id, /^[a-z]+-[a-z]+-\d{4}$/, 'a readable name');
  assert.match(first.cli.stderr, /Public URL {2}http:\/\/[a-z0-9-]+\.127\.0\.0\.1:\d+\n/, '--json still tells a person the URL');
  assert.match(first.cli.stderr, /paste it as the webhook URL on the platform's Settings page/);
  const second = await run();
  assert.equal(second.id, first.id, 'the next start asks for the same subdomain');
  assert.equal((await run(['--subdomain', 'given-by-flag'])).id, 'given-by-flag');
  const fresh = await run(['--new-url']);
  assert.notEqual(fresh.id, first.id);
  assert.equal((await run()).id, fresh.id, 'the new name is kept for later runs');
});

test('bodies trickling through the tunnel on every pooled socket do not hold them: other webhooks get through', async (t) => {
  const slow: Socket[] = [];
  let dripping: NodeJS.Timeout | undefined;
  t.after(() => {
    clearInterval(dripping);
    for (const s of slow) s.destroy();
  });
  const { server, app, cli, id, postThrough } = await startTunnelScene(t);
  // Wait for the client's whole pool, so the slow requests below can take every socket.
  for (let i = 0; i < 100 && server.tunnelSockets(id) < 10; i++) await sleep(50);
  assert.equal(server.tunnelSockets(id), 10);
  for (let i = 0; i < 10; i++) {
    const s = connect(server.port, '127.0.0.1');
    s.on('error', () => {});
    s.write(`POST /slow-${i} HTTP/1.1\r\nHost: ${hostFor(id, server)}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{`);
    slow.push(s);
  }
  dripping = setInterval(() => {
    for (const s of slow) if (!s.destroyed) s.write(' ');
  }, 2000);
  await sleep(500);
  const started = Date.now();
  const reply = await postThrough('/normal', seedBytes(), { timeoutMs: 40_000 });
  const waited = Date.now() - started;
  assert.equal(reply.status, 200);
  assert.ok(waited < 25_000, `a normal webhook waited ${waited} ms behind trickling bodies`);
  process.stdout.write(`# a webhook behind 10 trickling bodies waited ${waited} ms\n`);
  // The trickling requests were cut off, each still recorded (never lost), none forwarded.
  await waitFor(() => cli.records().filter((r) => r.type === 'event' && r.rejected === 'too-slow').length >= 10, 'ten too-slow events', 20_000);
  const slowEvent = cli.records().find((r) => r.type === 'event' && r.rejected === 'too-slow')!;
  assert.match(slowEvent.summary, /408 body too slow through the tunnel/);
  await app.waitForCount(1);
  await sleep(300);
  assert.deepEqual(
    app.received.map((r) => r.url),
    ['/normal'],
  );
});

test('forward loops: a --forward-to that is the listener is refused at start; an event that comes back is answered 508, recorded, not forwarded', async (t) => {
  const port = await freePort();
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  for (const target of [String(port), `localhost:${port}/hook`, `http://127.0.0.1:${port}`]) {
    const cli = runCli(['--no-tunnel', '--no-inspect', '--port', String(port), '--store', dir, '-f', target]);
    assert.equal(await cli.exited, 1, target);
    assert.match(cli.stderr, /is this listener itself \(port \d+\): every event would be sent back to it for ever/);
  }

  // Two listeners forwarding to each other: A → B → A is caught at A, once.
  const app = await startApp();
  const b = await freePort();
  const a = await startListening(['-f', `http://127.0.0.1:${b}`, '-f', app.url]);
  const bl = await startListening(['-f', a.url, '--port', String(b)]);
  t.after(async () => {
    await bl.cleanup();
    await a.cleanup();
    await app.close();
  });
  const reply = await send(a.url + '/hook', { body: seedBytes(), headers: { 'content-type': 'application/json' } });
  assert.equal(reply.status, 200);
  const loop = await a.cli.waitForRecord((r) => r.type === 'event' && r.rejected === 'loop', 'the event coming back marked as a loop');
  assert.match(loop.summary, /508 forward loop/);
  const back = await bl.cli.waitForRecord((r) => r.type === 'delivery' && r.status === 508, "B's delivery answered 508");
  assert.equal(back.final, true, '508 is final: a loop is not retried');
  await app.waitForCount(1);
  await sleep(500);
  assert.equal(app.received.length, 1, 'the app got the event once');
  assert.equal(a.cli.records().filter((r) => r.type === 'event').length, 2, 'A recorded the original and the loop');
  assert.equal(bl.cli.records().filter((r) => r.type === 'event').length, 1);
});
