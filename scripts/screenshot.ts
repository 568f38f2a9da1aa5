/*
 * Takes docs/inspector.png (1280×800) and docs/inspector-narrow.png (600 px wide): the built CLI with a few of the platform's events, the inspector in Debian's
 * Chromium. Run with: npm run build && npm run build:test && node dist-test/scripts/screenshot.js
 */
import { fileURLToPath } from 'node:url';
import { startLtServer } from '../test/helpers/lt-server.js';
import { startApp } from '../test/helpers/app.js';
import { send, seedBytes } from '../test/helpers/http.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { runCli, tempDir } from '../test/helpers/cli.js';

const out = fileURLToPath(new URL('../../docs/inspector.png', import.meta.url));
const narrow = fileURLToPath(new URL('../../docs/inspector-narrow.png', import.meta.url));
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
await sendKind(['document']);
await new Promise((r) => setTimeout(r, 1500));
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
await page.goto(wl.ready.inspectorUrl);
await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 30);
await page.locator('#events li').first().click();
await page.waitForSelector('#detail [data-role="tree"] details');
await page.waitForSelector('#detail [data-role="attempt"]');
await page.waitForTimeout(300);
await page.screenshot({ path: out });
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
console.log(`wrote ${out} and ${narrow}`);
