/*
 * Takes the inspector's pictures in docs/: at 1280×800 the list with an event answered 500 (inspector.png), one
 * answered 200 (inspector-200.png), a binary body's hex view (inspector-hex.png) and an edited replay
 * (inspector-replay.png); at 600×900 the detail (inspector-narrow.png). The built CLI with the platform's samples, a
 * GitHub push and a Stripe event, the inspector in Debian's Chromium.
 * Run with: npm run build && npm run build:test && node dist-test/scripts/screenshot.js
 */
import { fileURLToPath } from 'node:url';
import { startLtServer } from '../test/helpers/lt-server.js';
import { startApp } from '../test/helpers/app.js';
import { send, seedBytes } from '../test/helpers/http.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { runCli, tempDir } from '../test/helpers/cli.js';

const doc = (name: string): string => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));
const out = doc('inspector.png');
const narrow = doc('inspector-narrow.png');
const app = await startApp();
// The app has a bug with documents: it answers them 500, so the response side has something to show.
app.respondWith((r, res) => {
  if (r.body.includes('DOCUMENT')) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: "TypeError: Cannot read properties of undefined (reading 'documentUrl')", at: 'handlers/message.js:48:19' }));
  } else res.end('ok');
});
// Through the localtunnel fixture, so the header shows a public URL as it does for a user.
const server = await startLtServer();
const store = tempDir();
const cli = runCli(['--json', '--port', '0', '--inspect-port', '0', '--store', store.dir, '--tunnel-host', server.url, '-f', `${app.url}/my/webhook/url`, '--retry-delay', '300ms', '--retries', '2']);
const ready = await cli.waitForRecord((r) => r.type === 'ready' && r.publicUrl, 'ready with a public URL');
const wl = { url: ready.listenUrl as string, ready };
const sendKind = async (args: string[]): Promise<void> => {
  const cli = runCli(['send', ...args, '--to', wl.url]);
  await cli.exited;
};
await send(wl.url, { body: seedBytes(), headers: { 'content-type': 'application/json' } });
await sendKind(['image']);
await sendKind(['agent']);
await sendKind(['document']);
await send(`${wl.url}/github`, { body: '{"zen":"Design for failure.","hook_id":1}', headers: { 'content-type': 'application/json', 'x-github-event': 'ping' } });
await sendKind(['newMessage', '--set', 'message.content=Can I change my delivery address to 14 Admiralty Way, Lekki?']);
// Enough events to show how many fit on a screen.
for (let i = 0; i < 24; i++) await sendKind(['newMessage', '--set', `message.content=Order #${4800 + i}: is it on its way?`]);
await send(`${wl.url}/github`, {
  body: JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'acme/shop-api' }, sender: { login: 'octocat' }, head_commit: { message: 'Fix the order total' } }),
  headers: { 'content-type': 'application/json', 'x-github-event': 'push' },
});
await send(`${wl.url}/stripe`, {
  body: JSON.stringify({ id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy', object: 'event', type: 'charge.succeeded', data: { object: { id: 'ch_3NG8Du2eZvKYlo2C1bH1kD9z', object: 'charge' } } }),
  headers: { 'content-type': 'application/json' },
});
const binary = JSON.parse((await send(`${wl.url}/upload`, { body: Buffer.from([...Array(600).keys()].map((i) => (i * 37) % 256)), headers: { 'content-type': 'application/octet-stream' } })).text).id as string;
const replayed = JSON.parse((await send(wl.url, { body: seedBytes(), headers: { 'content-type': 'application/json' } })).text).id as string;
await sendKind(['document']);
await new Promise((r) => setTimeout(r, 1500));
// An edited replay of one event, answered 500 (the app's document bug), as a user would make it from the page.
const edited = seedBytes().toString().replace('Hello World!', 'Hello again, with a DOCUMENT');
await send(`${wl.ready.inspectorUrl}/_webhook-listen/api/events/${replayed}/replay`, {
  body: JSON.stringify({ body: edited }),
  headers: { 'content-type': 'application/json', origin: wl.ready.inspectorUrl },
});
await new Promise((r) => setTimeout(r, 500));
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
await page.goto(wl.ready.inspectorUrl);
await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 30);
await page.locator('#events li').first().click();
await page.waitForSelector('#detail [data-role="tree"] details');
await page.waitForSelector('#detail [data-role="attempt"]');
await page.waitForTimeout(300);
await page.screenshot({ path: out });
const shoot = async (id: string, ready: string, name: string): Promise<void> => {
  await page.locator(`#events li[data-id="${id}"]`).click();
  await page.waitForSelector(ready);
  await page.waitForTimeout(300);
  await page.screenshot({ path: doc(name) });
};
await shoot(replayed, '#detail [data-role="attempt"] >> nth=1', 'inspector-replay.png');
await shoot(binary, '#detail [data-role="hex"] pre', 'inspector-hex.png');
const ok = await page.evaluate(() => Array.from(document.querySelectorAll('#events li')).find((li) => li.querySelector('[data-role="status"]')?.textContent === '200' && /Order #48/.test(li.textContent ?? ''))?.getAttribute('data-id'));
await shoot(ok!, '#detail [data-role="attempt"]', 'inspector-200.png');
const small = await browser.newPage({ viewport: { width: 600, height: 900 }, deviceScaleFactor: 1 });
await small.goto(wl.ready.inspectorUrl);
await small.waitForFunction(() => document.querySelectorAll('#events li').length >= 30);
await small.locator('#events li').first().click();
await small.waitForSelector('#detail [data-role="attempt"]');
await small.waitForTimeout(300);
await small.screenshot({ path: narrow });
await browser.close();
await cli.stop('SIGKILL');
await server.stop();
store.cleanup();
await app.close();
console.log(`wrote ${out}, ${narrow} and inspector-200, -hex, -replay.png`);
