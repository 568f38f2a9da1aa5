import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { BIN, run, tempDir } from './helpers/cli.js';
import { header, startApp, type RecordingApp } from './helpers/app.js';
import { postJson } from './helpers/http.js';
import { freePort } from './helpers/net.js';
import { waitFor } from './helpers/wait.js';
import { displayWidth } from '../src/format/width.js';

/*
 * What a person sees in a real terminal: the CLI runs in tmux (its own server socket, no user config) at a given
 * width, and the pane is read back with wrapped rows joined (-J), so a line wider than the pane shows as one long line.
 */

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

interface Pane {
  lines(): string[];
  resize(columns: number): void;
  keys(...keys: string[]): void;
}

async function inTmux(t: TestContext, columns: number, args: string[]): Promise<Pane> {
  const socket = `wl-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...a: string[]): string => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...a], { encoding: 'utf8' });
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  tmux('new-session', '-d', '-s', 'wl', '-x', String(columns), '-y', '60', `${command}; sleep 600`);
  t.after(() => void spawnSync('tmux', ['-L', socket, 'kill-server']));
  const pane: Pane = {
    lines: () => tmux('capture-pane', '-p', '-J', '-t', 'wl', '-S', '-200').split('\n').map((l) => l.trimEnd()),
    resize: (c) => void tmux('resize-window', '-t', 'wl', '-x', String(c)),
    keys: (...k) => void tmux('send-keys', '-t', 'wl', ...k),
  };
  await waitFor(() => pane.lines().some((l) => l.includes('Waiting for events')), 'the banner in the pane');
  return pane;
}

/** The platform's six samples, a GitHub push, a Stripe event, and one delivery that is retried. */
async function sendTheMix(url: string, app: RecordingApp): Promise<void> {
  for (const kind of ['newMessage', 'image', 'video', 'document', 'audio', 'agent']) assert.equal((await run(['send', kind, '--to', url])).code, 0);
  const push = { ref: 'refs/heads/main', repository: { full_name: 'octo-org/a-repository-with-a-long-name' }, sender: { login: 'octocat' } };
  await postJson(url, JSON.stringify(push), { 'x-github-event': 'push', 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' });
  const stripe = { id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy', object: 'event', type: 'charge.succeeded', data: { object: { id: 'ch_3NG8Du2eZvKYlo2C1bH1kD9z', object: 'charge' } } };
  let first = true;
  app.respondWith((_r, res) => {
    res.statusCode = first ? 503 : 200;
    first = false;
    res.end(res.statusCode === 503 ? 'busy, try again' : 'ok');
  });
  await postJson(url, JSON.stringify(stripe), { 'stripe-signature': 't=1,v1=00' });
  // 6 samples, the push, and the Stripe event twice (503, then 200).
  await app.waitForCount(9);
}

for (const columns of [80, 100, 160])
  test(`at ${columns} columns every line fits, and the platform's lines show the message`, { skip: !hasTmux && 'tmux is not installed', timeout: 60_000 }, async (t) => {
    const app = await startApp();
    t.after(() => app.close());
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const port = await freePort();
    const pane = await inTmux(t, columns, ['--no-tunnel', '--no-inspect', '--no-color', '--port', String(port), '--store', dir, '-f', app.url, '--retry-delay', '100ms']);
    await sendTheMix(`http://127.0.0.1:${port}`, app);
    const lines = await waitFor(() => {
      const l = pane.lines();
      return l.filter((x) => x.includes('↳')).length >= 9 ? l : undefined;
    }, 'nine delivery lines');
    for (const line of lines) assert.ok(displayWidth(line) <= columns, `${displayWidth(line)} > ${columns}: ${line}`);
    const platform = lines.filter((l) => /^\d\d:\d\d:\d\d {2}#\d+ {2}newMessage/.test(l));
    assert.equal(platform.length, 6, lines.join('\n'));
    for (const l of platform) assert.match(l, /(Chidi Okafor|Ada \(Support\) \(agent\)): .{20,}/, `the message in: ${l}`);
    assert.ok(lines.some((l) => /retry 1 in/.test(l)), 'the retry line');
  });

test('a resized terminal: the next line follows the new width', { skip: !hasTmux && 'tmux is not installed', timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const port = await freePort();
  const pane = await inTmux(t, 80, ['--no-tunnel', '--no-inspect', '--no-color', '--port', String(port), '--store', dir]);
  const url = `http://127.0.0.1:${port}`;
  const long = (n: number): string => JSON.stringify({ n, event: 'note', text: `${'a long line of text '.repeat(12)}end` });
  await postJson(url, long(1));
  const first = await waitFor(() => pane.lines().find((l) => l.includes('"n":1')), 'the first line');
  assert.ok(displayWidth(first) <= 80 && displayWidth(first) > 70, first);
  // SIGWINCH reaches the process on its own time: events are sent until one is printed at the new width (bounded).
  const atWidth = async (columns: number, from: number): Promise<string> => {
    pane.resize(columns);
    for (let n = from; n < from + 20; n++) {
      await postJson(url, long(n));
      const line = await waitFor(() => pane.lines().find((l) => l.includes(`"n":${n},`)), `line ${n}`);
      if (displayWidth(line) > columns - 10 && displayWidth(line) <= columns) return line;
    }
    assert.fail(`no line at ${columns} columns`);
  };
  await atWidth(160, 10);
  await atWidth(60, 40);
});

test('keys while listening: r replays the last event, ? lists the keys, q stops cleanly; ^C still stops', { skip: !hasTmux && 'tmux is not installed', timeout: 60_000 }, async (t) => {
  // Issue 27, item 7: a typed `r` only echoed into the log.
  const app = await startApp();
  t.after(() => app.close());
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const port = await freePort();
  const pane = await inTmux(t, 120, ['--no-tunnel', '--no-inspect', '--no-color', '--port', String(port), '--store', dir, '-f', app.url]);
  assert.ok(pane.lines().some((l) => /Keys\s+r replay last · o inspector · c clear · q quit · \? keys/.test(l)), 'the banner lists the keys');
  await postJson(`http://127.0.0.1:${port}`, '{"event":"first"}');
  await app.waitForCount(1);
  pane.keys('r');
  const [, again] = await app.waitForCount(2);
  assert.equal(header(again!, 'webhook-listen-replay'), '1');
  await waitFor(() => pane.lines().some((l) => /replaying \w+ \(first\) to/.test(l)), 'the replay said');
  pane.keys('x', '?');
  await waitFor(() => pane.lines().some((l) => /^keys: r replays the last event/.test(l)), 'the keys listed');
  assert.ok(!pane.lines().some((l) => /^x$/.test(l)), 'a key with no meaning is not echoed');
  pane.keys('q');
  await waitFor(() => pane.lines().some((l) => /^stopped: 1 received/.test(l)), 'a clean stop');
  const second = await inTmux(t, 120, ['--no-tunnel', '--no-inspect', '--no-color', '--port', String(await freePort()), '--store', dir]);
  second.keys('C-c');
  await waitFor(() => second.lines().some((l) => /^stopped:/.test(l)), '^C stops in raw mode too');
});
