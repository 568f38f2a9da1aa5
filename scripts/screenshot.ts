/*
 * Takes docs/inspector.png: the built CLI with a few of the platform's events, the inspector in Debian's
 * Chromium. Run with: npm run build && npm run build:test && node dist-test/scripts/screenshot.js
 */
import { fileURLToPath } from 'node:url';
import { startLtServer } from '../test/helpers/lt-server.js';
import { startApp } from '../test/helpers/app.js';
import { send, seedBytes } from '../test/helpers/http.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { runCli, tempDir } from '../test/helpers/cli.js';

const out = fileURLToPath(new URL('../../docs/inspector.png', import.meta.url));
const app = await startApp();
// Through the localtunnel fixture, so the header shows a public URL as it does for a user.
const server = await startLtServer();
const store = tempDir();
const cli = runCli(['--json', '--port', '0', '--inspect-port', '0', '--store', store.dir, '--tunnel-host', server.url, '-f', `${app.url}/my/webhook/url`]);
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
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1440, height: 820 }, deviceScaleFactor: 1 });
await page.goto(wl.ready.inspectorUrl);
await page.waitForFunction(() => document.querySelectorAll('#events li').length === 6);
await page.locator('#events li').nth(4).click();
await page.waitForSelector('#detail [data-role="tree"]');
await page.waitForTimeout(300);
await page.screenshot({ path: out });
await browser.close();
await cli.stop('SIGKILL');
await server.stop();
store.cleanup();
await app.close();
console.log(`wrote ${out}`);
