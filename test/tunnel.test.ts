import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, type Socket, connect, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { runCli, tempDir, type Cli } from './helpers/cli.js';
import { header, startApp } from './helpers/app.js';
import { send, seedBytes, sha256 } from './helpers/http.js';
import { hostFor, startLtServer, tunnelId, type LtServer } from './helpers/lt-server.js';
import { startTunnelScene } from './helpers/tunnel-scene.js';
import { freePort } from './helpers/net.js';
import { sleep, waitFor } from './helpers/wait.js';

function startTunnelled(server: { url: string }, args: string[], store: string): Cli {
  return runCli(['--json', '--port', '0', '--store', store, '--tunnel-host', server.url, ...args]);
}

test('through the tunnel: the public URL is announced and a POST reaches the app byte for byte', async (t) => {
  const started = Date.now();
  const { server, app, ready, id, postThrough } = await startTunnelScene(t, { args: ['--path', '/my/webhook/url'] });
  const elapsed = Date.now() - started;
  assert.equal(ready.tunnel, 'open');
  assert.match(ready.publicUrl, /^http:\/\/[a-z0-9-]+\.127\.0\.0\.1:\d+\/my\/webhook\/url$/, 'the URL the server gave, with --path, never parsed');
  process.stdout.write(`# start to public URL through the fixture: ${elapsed} ms\n`);

  const body = seedBytes();
  const reply = await postThrough('/my/webhook/url', body);
  assert.equal(reply.status, 200);
  const [got] = await app.waitForCount(1);
  assert.equal(sha256(got!.body), sha256(body));
  assert.equal(got!.url, '/my/webhook/url');
  assert.equal(header(got!, 'x-forwarded-host'), hostFor(id, server), 'the public Host is kept as X-Forwarded-Host');
  // Later requests reuse the client's sockets; the Host the app sees must not change between them.
  for (let i = 0; i < 3; i++) assert.equal((await postThrough('/my/webhook/url', body)).status, 200);
  await app.waitForCount(4);
  assert.deepEqual(new Set(app.received.map((r) => header(r, 'x-forwarded-host'))), new Set([hostFor(id, server)]));

  // Only the listener is reachable through the tunnel: the inspector's namespace is not served there.
  const probe = await send(`${server.url}/_webhook-listen/api/events`, { method: 'GET', headers: { host: hostFor(id, server) } });
  assert.equal(probe.status, 404);
});

test('the tunnel server restarting on the same port: the CLI reconnects with the same subdomain and events flow again', async (t) => {
  const scene = await startTunnelScene(t);
  const { app, cli, id } = scene;
  assert.equal((await scene.postThrough('/a', seedBytes())).status, 200);

  await scene.server.stop();
  await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'down', 'the tunnel-down record');
  await scene.restart();
  const back = await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'open', 'the reconnect', 20_000);
  assert.equal(tunnelId(back.publicUrl), id, 'the same subdomain was asked for and given');
  assert.match(back.message, /reconnected/);

  assert.equal((await scene.postThrough('/b', seedBytes())).status, 200);
  await app.waitForCount(2);
  assert.deepEqual(
    app.received.map((r) => r.url),
    ['/a', '/b'],
  );
  assert.equal(cli.child.exitCode, null, 'the CLI is still running');
});

test('the tunnel server back after a long outage: reconnected within about a second, not at the end of a grown backoff', { timeout: 60_000 }, async (t) => {
  // Issue 25, item 13: after the server was down 15 s, the public URL answered 404 for another 16–17 s (the backoff
  // ran on). While the server cannot be reached, it is now asked every second whether it is back.
  const scene = await startTunnelScene(t);
  const { cli } = scene;
  await scene.server.stop();
  await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'down', 'the tunnel-down record');
  // Down long enough for the backoff to have grown to 8 s: the sockets' loss noticed (~5 s), then tries after 1, 2, 4 s.
  await sleep(16_000);
  await scene.restart();
  const backAt = Date.now();
  await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'open', 'the reconnect', 20_000);
  const took = Date.now() - backAt;
  assert.ok(took < 2_500, `reconnected ${took} ms after the server was back`);
  assert.equal((await scene.postThrough('/back', seedBytes())).status, 200);
});

test('Upgrade requests through the tunnel are refused and closed: ten held open cannot block it, a webhook gets through at once', { timeout: 30_000 }, async (t) => {
  // Issue 25, item 12: the server pipes an upgrade onto one of the ten tunnel sockets; the listener answered it 200 and
  // kept the socket, so ten such requests held every tunnel socket and webhooks waited (0 of 11 in 3 minutes).
  const scene = await startTunnelScene(t);
  const { server, id, cli } = scene;
  const held: Socket[] = [];
  const heard: string[] = [];
  t.after(() => {
    for (const s of held) s.destroy();
  });
  for (let i = 0; i < 10; i++) {
    const s = connect(server.port, '127.0.0.1');
    held.push(s);
    heard.push('');
    s.on('data', (d) => (heard[i] += String(d)));
    s.on('error', () => undefined);
    s.write(`GET /ws HTTP/1.1\r\nHost: ${hostFor(id, server)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  }
  await waitFor(() => heard.every((h) => h.length > 0), 'an answer to every upgrade', 10_000);
  const started = Date.now();
  const reply = await scene.postThrough('/legit', seedBytes(), { timeoutMs: 10_000 });
  assert.equal(reply.status, 200);
  assert.ok(Date.now() - started < 2_000, `the webhook took ${Date.now() - started} ms`);
  for (const h of heard) assert.match(h, /^HTTP\/1\.1 400 /, 'refused');
  await waitFor(() => held.every((s) => s.readableEnded || s.destroyed), 'every upgrade connection closed', 10_000);
  await cli.waitForRecord((r) => r.type === 'event' && r.path === '/legit', 'the webhook recorded');
  assert.equal(cli.records().filter((r) => r.type === 'event').length, 1, 'the upgrades were not taken for webhooks');
});

test('a request that starts arriving on a tunnel socket has a header deadline: ten half-sent heads cannot block it', { timeout: 30_000 }, async (t) => {
  // Issue 25, item 12: the tunnel's sockets have no header timeout (they wait idle for hours), so a server that
  // streams bytes as they come let ten half-sent requests hold all ten sockets for as long as the sender liked.
  const scene = await startTunnelScene(t, { env: { WEBHOOK_LISTEN_HEADERS_TIMEOUT_MS: '1000' } });
  const { server, id, cli } = scene;
  const heard: string[] = [];
  const held: Socket[] = [];
  t.after(() => held.forEach((s) => s.destroy()));
  for (let i = 0; i < 10; i++) {
    const s = await server.streamRaw(id, `POST /slow-${i} HTTP/1.1\r\nHost: x\r\nContent-Type: applic`);
    held.push(s);
    heard.push('');
    s.on('data', (d) => (heard[i] += String(d)));
  }
  const reply = await scene.postThrough('/legit', seedBytes(), { timeoutMs: 10_000 });
  assert.equal(reply.status, 200, 'the webhook got a socket once the half-sent heads ran out of time');
  await waitFor(() => heard.every((h) => /^HTTP\/1\.1 408 /.test(h)), 'a 408 on every half-sent head', 10_000);
  await cli.waitForRecord((r) => r.type === 'event' && r.path === '/legit', 'the webhook recorded');
  assert.equal(cli.records().filter((r) => r.type === 'tunnel').length, 0, 'the tunnel never looked down');
});

test('tunnel server down at start: local-only line, local events served, tunnel opens once the server is up', async (t) => {
  const port = await freePort();
  const app = await startApp();
  const { dir, cleanup } = tempDir();
  const cli = startTunnelled({ url: `http://127.0.0.1:${port}` }, ['-f', app.url], dir);
  let server: LtServer | undefined;
  t.after(async () => {
    await cli.stop('SIGKILL');
    await server?.stop();
    await app.close();
    cleanup();
  });
  const ready = await cli.waitForRecord((r) => r.type === 'ready', 'ready');
  assert.equal(ready.tunnel, 'offline');
  assert.equal(ready.publicUrl, undefined);
  const offline = await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'offline', 'the offline line');
  assert.match(offline.message, /refused the connection.*listening locally only, retrying in the background/);

  assert.equal((await send(ready.listenUrl, { body: seedBytes() })).status, 200, 'local events are served meanwhile');
  await app.waitForCount(1);

  server = await startLtServer({ port });
  const open = await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'open', 'the tunnel opening later', 20_000);
  const late = await send(`${server.url}/late`, { body: seedBytes(), headers: { host: hostFor(tunnelId(open.publicUrl), server) } });
  assert.equal(late.status, 200);
  await app.waitForCount(2);
});

test('a different URL on reconnect: a loud warning, a tunnel record, and --on-url runs again', async (t) => {
  let server = await startLtServer();
  const port = server.port;
  const { dir, cleanup } = tempDir();
  const log = join(dir, 'on-url.log');
  const cli = startTunnelled(server, ['--on-url', `echo "got $WEBHOOK_LISTEN_URL" >> '${log}'; echo hook-ran`], dir);
  t.after(async () => {
    await cli.stop('SIGKILL');
    await server.stop();
    cleanup();
  });
  const ready = await cli.waitForRecord((r) => r.type === 'ready' && r.publicUrl, 'ready');
  await cli.waitForOutput(/on-url │ hook-ran/, 10_000, 'stderr');

  await server.stop();
  server = await startLtServer({ port, randomIds: true });
  const changed = await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'changed', 'the URL-changed record', 20_000);
  assert.equal(changed.previousUrl, ready.publicUrl);
  assert.notEqual(changed.publicUrl, ready.publicUrl);
  assert.match(changed.message, /CHANGED.*update the webhook URL on the platform/);
  const lines = await (async () => {
    for (let i = 0; i < 100; i++) {
      const text = (() => {
        try {
          return readFileSync(log, 'utf8');
        } catch {
          return '';
        }
      })();
      if (text.trim().split('\n').length >= 2) return text.trim().split('\n');
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('--on-url did not run twice');
  })();
  assert.deepEqual(lines, [`got ${ready.publicUrl}`, `got ${changed.publicUrl}`]);
});

test('--on-url failing is reported and never stops the listener; a bad --subdomain is a usage error', async (t) => {
  const server = await startLtServer();
  const { dir, cleanup } = tempDir();
  const cli = startTunnelled(server, ['--on-url', 'exit 3', '--subdomain', 'my-stable-name'], dir);
  t.after(async () => {
    await cli.stop('SIGKILL');
    await server.stop();
    cleanup();
  });
  const ready = await cli.waitForRecord((r) => r.type === 'ready', 'ready');
  assert.equal(tunnelId(ready.publicUrl), 'my-stable-name');
  await cli.waitForOutput(/--on-url command exited with code 3/, 10_000, 'stderr');
  assert.equal((await send(ready.listenUrl, { body: '{}' })).status, 200);

  const bad = runCli(['--subdomain', 'No!', '--store', dir]);
  assert.equal(await bad.exited, 2);
  assert.match(bad.stderr, /subdomain is 4 to 63 lowercase/);
});

/** The TCP ports a process listens on, from /proc (its socket inodes matched against the LISTEN rows). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

test("the tunnel's sockets go straight to the listener: no second local port; a server that drops every socket unused is not redialled in a hot loop", async (t) => {
  // Part 1: the real client against the fixture — the CLI listens on its own port only (the tunnel entry has none).
  const scene = await startTunnelScene(t, { args: ['--no-inspect'] });
  assert.equal((await scene.postThrough('/a', seedBytes())).status, 200);
  assert.deepEqual(listeningPorts(scene.cli.child.pid!), [Number(new URL(scene.ready.listenUrl).port)], 'one listening port: the listener');

  // Part 2: a tunnel server that accepts every data socket and closes it at once, unused.
  let dialled = 0;
  const data = createNetServer((socket) => {
    dialled++;
    socket.destroy();
  });
  await new Promise<void>((r) => data.listen(0, '127.0.0.1', r));
  const dataPort = (data.address() as AddressInfo).port;
  const api = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/api/status') return res.end('{}');
    res.end(JSON.stringify({ id: 'dropper-1234', port: dataPort, max_conn_count: 10, url: 'http://dropper-1234.localhost' }));
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const { dir, cleanup } = tempDir();
  const cli = startTunnelled({ url: `http://127.0.0.1:${(api.address() as AddressInfo).port}` }, ['--no-inspect'], dir);
  t.after(async () => {
    await cli.stop('SIGKILL');
    api.close();
    data.close();
    cleanup();
  });
  await cli.waitForRecord((r) => r.type === 'ready', 'ready');
  await waitFor(() => dialled >= 10, 'the first ten sockets');
  const from = dialled;
  await new Promise((r) => setTimeout(r, 3000));
  // Ten sockets, each replaced after a 1 s pause: about 30 in 3 s. The library's own data plane redials at once,
  // thousands of times a second.
  assert.ok(dialled - from <= 60, `redialled ${dialled - from} times in 3 s`);
  assert.equal(cli.child.exitCode, null);
});

test('^C while the listener waits for a slow tunnel server, before the ready line: a clean stop at once, not a kill', { timeout: 30_000 }, async (t) => {
  // A tunnel server that accepts connections and never answers: the banner waits for it (the probe times out after 5 s).
  const silent = createNetServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = await freePort();
  const { dir, cleanup } = tempDir();
  const cli = runCli(['--json', '--no-inspect', '--port', String(port), '--store', dir, '--tunnel-host', `http://127.0.0.1:${(silent.address() as AddressInfo).port}`]);
  t.after(async () => {
    await cli.stop('SIGKILL');
    silent.close();
    for (const s of silentSockets) s.destroy();
    cleanup();
  });
  const silentSockets: import('node:net').Socket[] = [];
  silent.on('connection', (s) => silentSockets.push(s));
  // The listener is bound (it answers), the session is still starting: no ready record yet.
  await waitFor(
    async () => (await send(`http://127.0.0.1:${port}/`, { method: 'GET' }).catch(() => undefined))?.status !== undefined,
    'the listener to answer',
  );
  assert.equal(cli.records().filter((r) => r.type === 'ready').length, 0, 'still starting');
  const sent = Date.now();
  cli.child.kill('SIGINT');
  const code = await cli.exited;
  const took = Date.now() - sent;
  assert.equal(cli.child.signalCode, null, 'not killed by the signal');
  assert.equal(code, 0);
  assert.match(cli.stderr, /stopped: \d+ received/, "the clean stop's line");
  // The ^C cuts the banner's wait for the tunnel short (it waited out its 8 s before stopping). A bound, not a target.
  assert.ok(took < 4000, `stopped ${took} ms after the ^C`);
});

test('a create request refused (403) or answered with no tunnel is said with its reason and retried with backoff; then the tunnel opens, and Node’s own undici is never loaded', async (t) => {
  // The tunnel host a user gives: a front that refuses, then answers a captive-portal page, then passes the create
  // request to a real localtunnel-protocol server (the public traffic goes to that server directly).
  const server = await startLtServer();
  const app = await startApp();
  let creates = 0;
  const front = createServer((req, res) => {
    if (req.url === '/api/status') return void res.end('{}');
    creates++;
    if (creates === 1) {
      res.writeHead(403, { 'content-type': 'application/json' });
      // Words from the server reach the terminal: an escape sequence in them must not.
      return void res.end(JSON.stringify({ message: 'this server hands out no tunnels to strangers\u001b[2J' }));
    }
    if (creates === 2) return void res.end('<html>Sign in to the hotel Wi-Fi</html>');
    if (creates === 3) return void res.end(JSON.stringify({ id: '../../x', port: 1, url: 'http://evil.example/\u001b]0;owned\u0007' }));
    void fetch(`${server.url}${req.url}`).then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()));
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const { dir, cleanup } = tempDir();
  // A preload that writes the modules node loaded when the CLI exits: the tunnel and the forwarding client must
  // not pull in Node's bundled undici (the localtunnel client library's axios did, through its fetch probe: +29 MB).
  const loaded = join(dir, 'loaded.json');
  const preload = `data:text/javascript,process.on('exit',()=>process.getBuiltinModule('node:fs').writeFileSync(${encodeURIComponent(JSON.stringify(loaded))},JSON.stringify(process.moduleLoadList)))`;
  const cli = runCli(['--json', '--no-inspect', '--port', '0', '--store', join(dir, 'store'), '--tunnel-host', `http://127.0.0.1:${(front.address() as AddressInfo).port}`, '-f', app.url], {
    NODE_OPTIONS: `--import=${preload}`,
  });
  t.after(async () => {
    await cli.stop('SIGKILL');
    front.close();
    await server.stop();
    await app.close();
    cleanup();
  });
  const refused = await cli.waitForRecord((r) => r.type === 'tunnel' && /403/.test(String(r.message)), 'the refusal');
  assert.match(String(refused.message), /refused the request \(403\): this server hands out no tunnels to strangers\?\[2J/);
  assert.ok(!/\u001b/.test(cli.stdout + cli.stderr), 'no escape sequence from the server reaches the terminal');
  const portal = await cli.waitForRecord((r) => r.type === 'tunnel' && /without a tunnel/.test(String(r.message)), 'the answer with no tunnel');
  assert.match(String(portal.message), /is it a localtunnel server\?.*retrying in 2 s/);
  const bad = await cli.waitForRecord((r) => r.type === 'tunnel' && /not one/.test(String(r.message)), 'the answer with a bad URL', 15_000);
  assert.match(String(bad.message), /answered with a public URL that is not one: http:\/\/evil\.example\/\?\]0;owned\?/);
  const open = await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'open', 'the tunnel', 20_000);
  assert.equal(creates, 4, 'one request per try: the backoff, not a retry loop');
  assert.ok(!/\u001b|\u0007/.test(cli.stdout + cli.stderr), 'no escape sequence from the server reaches the terminal');
  const id = tunnelId(String(open.publicUrl));
  const reply = await send(`${server.url}/hook`, { body: seedBytes(), headers: { host: hostFor(id, server), 'content-type': 'application/json' } });
  assert.equal(reply.status, 200);
  await app.waitForCount(1);
  cli.child.kill('SIGINT');
  assert.equal(await cli.exited, 0);
  const modules = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
  assert.ok(modules.some((m) => /NativeModule net$/.test(m)), 'the preload ran in the CLI');
  assert.deepEqual(modules.filter((m) => /deps\/undici/.test(m)), []);
});

test('a tunnel server that redirects the create request for ever is reported after 5 redirects, not followed in a loop', async (t) => {
  let creates = 0;
  const front = createServer((req, res) => {
    if (req.url === '/api/status') return void res.end('{}');
    creates++;
    res.writeHead(302, { location: `/again-${creates}` }).end();
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const { dir, cleanup } = tempDir();
  const cli = runCli(['--json', '--no-inspect', '--port', '0', '--store', dir, '--tunnel-host', `http://127.0.0.1:${(front.address() as AddressInfo).port}`]);
  t.after(async () => {
    await cli.stop('SIGKILL');
    front.close();
    cleanup();
  });
  const said = await cli.waitForRecord((r) => r.type === 'tunnel' && /redirected/.test(String(r.message)), 'the redirect report');
  assert.match(String(said.message), /redirected more than 5 times/);
  assert.ok(creates >= 6, `${creates} requests: the first and 5 redirects before the report`);
});

test('a tunnel server that answers the create request a byte at a time, never finishing, is asked again after 10 s, and the tunnel opens', { timeout: 45_000 }, async (t) => {
  // A proxy or a broken server keeping the request alive with a byte a second: an idle timeout never fires, so only a
  // deadline on the whole try gets the tunnel asked for again.
  const server = await startLtServer();
  let creates = 0;
  const drips = new Set<NodeJS.Timeout>();
  const front = createServer((req, res) => {
    if (req.url === '/api/status') return void res.end('{}');
    creates++;
    if (creates === 1) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const drip = setInterval(() => res.write(' '), 1000);
      drips.add(drip);
      res.on('close', () => clearInterval(drip));
      return;
    }
    void fetch(`${server.url}${req.url}`).then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()));
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const { dir, cleanup } = tempDir();
  const cli = runCli(['--json', '--no-inspect', '--port', '0', '--store', dir, '--tunnel-host', `http://127.0.0.1:${(front.address() as AddressInfo).port}`]);
  t.after(async () => {
    await cli.stop('SIGKILL');
    for (const drip of drips) clearInterval(drip);
    front.closeAllConnections();
    front.close();
    await server.stop();
    cleanup();
  });
  const started = Date.now();
  const open = await cli.waitForRecord((r) => r.type === 'tunnel' && r.state === 'open', 'the tunnel, asked for again', 30_000);
  const took = Date.now() - started;
  assert.equal(creates, 2, 'the dripping request abandoned once, then one more request');
  assert.ok(took >= 9_000, `asked again after the 10 s deadline, not before (${took} ms)`);
  const id = tunnelId(String(open.publicUrl));
  const reply = await send(`${server.url}/hook`, { body: seedBytes(), headers: { host: hostFor(id, server), 'content-type': 'application/json' } });
  assert.equal(reply.status, 200);
});

test('--on-url output is relayed line by line: a line the command writes in two pieces is one line, and a last line without a newline is shown', async (t) => {
  const server = await startLtServer();
  const { dir, cleanup } = tempDir();
  const command = `printf 'registering '; sleep 0.3; printf '%s done\\n' "$WEBHOOK_LISTEN_URL"; printf 'no newline at the end'`;
  const cli = startTunnelled(server, ['--on-url', command], dir);
  t.after(async () => {
    await cli.stop('SIGKILL');
    await server.stop();
    cleanup();
  });
  await cli.waitForOutput(/on-url │ no newline at the end/, 15_000, 'stderr');
  const relayed = cli.stderr.split('\n').filter((l) => l.includes('on-url │')).map((l) => l.slice(l.indexOf('on-url │')));
  assert.equal(relayed.length, 2, relayed.join('\n'));
  assert.match(relayed[0]!, /^on-url │ registering http:\/\/\S+ done$/);
  assert.equal(relayed[1], 'on-url │ no newline at the end');
});

test('the tunnel server gone: the line names the server and what likely happened, not a firewall', { timeout: 30_000 }, async (t) => {
  // Issue 27, item 5: the first line was the client library's `connection refused: localhost:46741 (check your
  // firewall settings)`.
  const scene = await startTunnelScene(t);
  await scene.server.stop();
  const first = await scene.cli.waitForRecord((r) => r.type === 'tunnel', 'the first tunnel line', 20_000);
  assert.doesNotMatch(first.message, /firewall/);
  assert.match(scene.cli.stdout + scene.cli.stderr, /the tunnel server \S+ refused the tunnel's connection \(port \d+\): it may have restarted or dropped this tunnel|the tunnel server .* refused the connection/);
});
