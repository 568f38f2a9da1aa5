import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startListening } from './helpers/cli.js';
import { startTunnelScene } from './helpers/tunnel-scene.js';
import { startApp } from './helpers/app.js';
import { postJson, seedBytes, send, sha256 } from './helpers/http.js';
import { numberedEvent } from './helpers/store.js';
import { hasChromium, launchBrowser } from './helpers/browser.js';
import { freePort } from './helpers/net.js';
import { waitFor } from './helpers/wait.js';

const origin = (url: string): string => new URL(url).origin;

test('inspector security: foreign Origin and Host are refused, nothing of it is served on the listener port', async (t) => {
  const app = await startApp();
  const wl = await startListening(['-f', app.url, '--inspect-port', '0']);
  t.after(async () => {
    await wl.cleanup();
    await app.close();
  });
  const inspector = wl.ready.inspectorUrl as string;
  assert.match(inspector, /^http:\/\/127\.0\.0\.1:\d+$/);
  const { id } = JSON.parse((await postJson(wl.url, seedBytes())).text) as { id: string };
  await app.waitForCount(1);
  const replayUrl = `${inspector}/_webhook-listen/api/events/${id}/replay`;
  const json = { 'content-type': 'application/json' };

  let r = await send(replayUrl, { body: '{}', headers: { ...json, origin: 'https://evil.example' } });
  assert.equal(r.status, 403, 'cross-origin replay');
  r = await send(replayUrl, { body: '{}', headers: json });
  assert.equal(r.status, 403, 'replay with no Origin at all');
  r = await send(`${inspector}/_webhook-listen/api/events`, { method: 'GET', headers: { host: 'evil.example' } });
  assert.equal(r.status, 403, 'DNS rebinding: a foreign Host cannot read events');
  r = await send(replayUrl, { body: '{}', headers: { ...json, host: 'evil.example', origin: 'http://evil.example' } });
  assert.equal(r.status, 403);
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(app.received.length, 1, 'no refused replay reached the app');

  r = await send(replayUrl, { body: '{}', headers: { ...json, origin: inspector } });
  assert.equal(r.status, 200, 'the inspector page itself may replay');
  await app.waitForCount(2);
  // Any client on the page's origin may send any shape: a 400 that says what is wrong, nothing sent.
  for (const body of ['null', '[1]', '{"body":5}', '{"targets":"abc"}', '{"bodyBase64":{}}', '{"headers":[["a"]]}']) {
    r = await send(replayUrl, { body, headers: { ...json, origin: inspector } });
    assert.equal(r.status, 400, `${body}: ${r.status} ${r.text}`);
    assert.match(r.text, /unreadable replay request: /);
  }
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(app.received.length, 2, 'no malformed replay reached the app');

  // The list's numbers come from the page, but any client may send others: not a 500 (SQLite refused a LIMIT of 1.5).
  for (const q of ['limit=1.5', 'limit=2.5&before=1.5', 'limit=-3', 'before=1e400', 'limit=99999999999999999999']) {
    r = await send(`${inspector}/_webhook-listen/api/events?${q}`, { method: 'GET' });
    assert.equal(r.status, 200, `?${q}: ${r.text}`);
    assert.equal((JSON.parse(r.text) as { events: unknown[] }).events.length, 1, `?${q}`);
  }

  for (const path of ['/_webhook-listen/api/events', '/_webhook-listen/static/app.js', `/_webhook-listen/api/events/${id}/replay`]) {
    const res = await send(`${origin(wl.url)}${path}`, { method: 'GET' });
    assert.equal(res.status, 404, `${path} on the listener port`);
  }
});

test('inspector in a browser: live list, detail, replay, edit and replay, filter', { skip: !hasChromium() && 'no /usr/bin/chromium' }, async (t) => {
  const app = await startApp();
  const wl = await startListening(['-f', `${app.url}/my/webhook/url`, '--inspect-port', '0']);
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await wl.cleanup();
    await app.close();
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(wl.ready.inspectorUrl);
  await page.waitForSelector('#live.on');

  // Arrives without a reload.
  await postJson(wl.url, JSON.stringify({ type: 'ping', zen: 'keep it logically awesome' }));
  await postJson(wl.url, seedBytes());
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 2);
  // Newest first, once the stream and the history have both arrived.
  await page.waitForFunction(() => /newMessage/.test(document.querySelector('#events li')?.textContent ?? ''));
  const first = page.locator('#events li').first();
  assert.match(await first.innerText(), /newMessage/);
  await page.waitForFunction(() => /200/.test(document.querySelector('#events li [data-role="status"]')?.textContent ?? ''));

  await first.click();
  await page.waitForSelector('#detail h2');
  const heading = await page.locator('#detail h2').innerText();
  assert.match(heading, /Message Sender:/);
  assert.match(heading, /"Hello World!"/);
  assert.match(await page.locator('#detail [data-role="tree"]').innerText(), /Channel/);
  assert.match(await page.locator('#detail [data-role="headers"]').innerText(), /content-type/i);

  await app.waitForCount(2);
  await page.click('[data-role="replay"]');
  await app.waitForCount(3);
  assert.equal(sha256(app.received[2]!.body), sha256(seedBytes()), 'replay sends identical bytes');
  await page.waitForFunction(() => /replay/.test(document.querySelector('[data-role="deliveries"]')?.textContent ?? ''));

  await page.click('[data-role="edit"]');
  const edited = JSON.stringify({ event: 'newMessage', message: { content: 'Edited in the browser' } });
  await page.fill('[data-role="edit-body"]', edited);
  await page.click('[data-role="send-edited"]');
  await app.waitForCount(4);
  assert.equal(app.received[3]!.body.toString(), edited, 'the app got the edited body');

  await page.fill('#filter-text', 'keep it logically');
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 1);
  assert.match(await page.locator('#events li').first().innerText(), /ping/);
  await page.fill('#filter-text', '');
  await page.selectOption('#filter-name', 'newMessage');
  // The list asks the store again: wait for its answer, not for the list the text filter left.
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 1 && /newMessage/.test(document.querySelector('#events li')?.textContent ?? ''));
  assert.match(await page.locator('#events li').first().innerText(), /newMessage/);
});

test('inspector header: the public URL and the tunnel state, live', { skip: !hasChromium() && 'no /usr/bin/chromium' }, async (t) => {
  const scene = await startTunnelScene(t, { inspect: true, forward: false });
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const { ready } = scene;
  const page = await browser.newPage();
  await page.goto(ready.inspectorUrl);
  const tunnel = page.locator('#tunnel');
  await tunnel.locator('[data-role="public-url"]', { hasText: ready.publicUrl }).waitFor({ timeout: 10_000 });
  assert.equal(await tunnel.getAttribute('data-state'), 'open');

  await scene.server.stop();
  await page.locator('#tunnel[data-state="reconnecting"]').waitFor({ timeout: 15_000 });
  assert.match((await tunnel.textContent()) ?? '', /reconnecting/);
  await scene.restart();
  await page.locator('#tunnel[data-state="open"]').waitFor({ timeout: 20_000 });
  assert.equal(await tunnel.locator('[data-role="public-url"]').textContent(), ready.publicUrl, 'the same URL again');
});

test('inspector: the app answer of each attempt, and Retry now / Cancel pending on a waiting event', { skip: !hasChromium() && 'no /usr/bin/chromium' }, async (t) => {
  const app = await startApp();
  app.respondWith((_r, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('boom: handler crashed\nstack…');
  });
  const wl = await startListening(['-f', app.url, '--inspect-port', '0', '--retry-delay', '30s']);
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await wl.cleanup();
    await app.close();
  });
  const { id } = JSON.parse((await postJson(wl.url, seedBytes())).text) as { id: string };
  await app.waitForCount(1);
  const page = await browser.newPage();
  await page.goto(wl.ready.inspectorUrl as string);
  await page.locator(`#events li[data-id="${id}"]`).click();
  await page.locator('[data-role="answer"] summary', { hasText: 'boom: handler crashed' }).waitFor({ timeout: 10_000 });
  await page.locator('[data-role="retry-now"]').click();
  await app.waitForCount(2, 5_000);
  await page.locator('[data-role="cancel-pending"]').click();
  await page.locator('#toast', { hasText: 'gave up on 1 waiting delivery' }).waitFor({ timeout: 5_000 });
  await wl.cli.waitForOutput(/cancelled: /, 5_000, 'stderr');
  assert.equal(await wl.cli.stop('SIGINT'), 0);
  assert.equal(app.received.length, 2, 'no more attempts after cancel');
});

test('a live-stream client that stops reading is dropped once 8 MB wait for it, instead of every event since kept in memory', { timeout: 60_000 }, async (t) => {
  const wl = await startListening(['--inspect-port', '0']);
  t.after(() => wl.cleanup());
  const inspector = new URL(wl.ready.inspectorUrl as string);
  // A client that reads the stream's head, then nothing (a paused `curl -N`, a frozen tab).
  const socket = connect({ host: '127.0.0.1', port: Number(inspector.port) });
  t.after(() => socket.destroy());
  let received = 0;
  let ended = false;
  const head = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      resolve();
    });
  });
  socket.on('end', () => (ended = true));
  socket.on('close', () => (ended = true));
  socket.write(`GET /_webhook-listen/api/stream HTTP/1.1\r\nHost: ${inspector.host}\r\n\r\n`);
  await head;
  socket.pause();
  // ~36 KB per list item (its 12 KB path three times): 1,000 events are ~36 MB, past the kernel's socket buffers
  // (a few MB each way) and the 8 MB the listener keeps for a client.
  const path = `/${'p'.repeat(12 * 1024)}`;
  for (let i = 0; i < 1000; i++) {
    const r = await send(`${wl.url}${path}?n=${i}`, { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200);
  }
  socket.resume();
  await waitFor(() => ended, 'the stream ended by the listener', 20_000);
  assert.ok(received < 30 * 1024 * 1024, `${(received / 1048576).toFixed(1)} MB came before the end, not every event`);
  // The listener is fine and a new client is served.
  const events = await send(`${inspector.origin}/_webhook-listen/api/events`, { method: 'GET' });
  assert.equal(events.status, 200);
  assert.equal(JSON.parse(events.text).total, 1000);
});

test('inspector after the listener restarts: the page reconnects and shows the events it missed meanwhile', { skip: !hasChromium() && 'no /usr/bin/chromium' }, async (t) => {
  const port = await freePort();
  const first = await startListening(['--inspect-port', String(port)]);
  const browser = await launchBrowser();
  let second: Awaited<ReturnType<typeof startListening>> | undefined;
  t.after(async () => {
    await browser.close();
    await second?.cleanup();
    await first.cleanup();
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(first.ready.inspectorUrl as string);
  await page.waitForSelector('#live.on');
  const before = JSON.parse((await postJson(first.url, seedBytes())).text).id as string;
  await page.locator(`#events li[data-id="${before}"]`).waitFor();
  assert.equal(await first.cli.stop('SIGINT'), 0);
  await page.waitForSelector('#live.off');
  // Same store, same inspector port; an event before the page's EventSource is back (it retries after ~3 s).
  second = await startListening(['--inspect-port', String(port)], { store: first.store });
  const missed = JSON.parse((await postJson(second.url, seedBytes())).text).id as string;
  await page.waitForSelector('#live.on', { timeout: 15_000 });
  await page.locator(`#events li[data-id="${missed}"]`).waitFor();
  assert.equal(await page.locator(`#events li[data-id="${before}"]`).count(), 1, 'the earlier event still listed once');
});

test('inspector during a burst: 1,500 events with the page open are drawn as they come, the list keeps the newest 500, and "more" pages on from them', { skip: !hasChromium() && 'no /usr/bin/chromium', timeout: 90_000 }, async (t) => {
  const wl = await startListening([]);
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await wl.cleanup();
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(wl.ready.inspectorUrl as string);
  await page.waitForSelector('#live.on');
  // Four senders at once, as a backlog flushed by a platform would come. The page redrew its whole list per event:
  // after 2,000 it was 19 s frozen and 26 s behind.
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < 1500) {
        const n = next++;
        ids[n] = JSON.parse((await postJson(wl.url, numberedEvent(n))).text).id as string;
      }
    }),
  );
  await page.locator('#count', { hasText: '500 of 1500 events' }).waitFor();
  const shown = await page.evaluate(() => Array.from(document.querySelectorAll('#events li'), (li) => li.getAttribute('data-id')));
  const newestFirst = [...ids].sort().reverse();
  assert.deepEqual(shown, newestFirst.slice(0, 500), 'the newest 500, newest first');
  await page.click('#more');
  await page.locator('#count', { hasText: '1000 of 1500 events' }).waitFor();
  const more = await page.evaluate(() => Array.from(document.querySelectorAll('#events li'), (li) => li.getAttribute('data-id')));
  assert.deepEqual(more, newestFirst.slice(0, 1000), '"more" brings the next 500 older ones, none twice');
});
