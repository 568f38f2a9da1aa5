// Big bodies waiting for an app that is down: memory stays bounded (issue 25, item 10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startListening } from '../helpers/cli.js';
import { send } from '../helpers/http.js';
import { freePort } from '../helpers/net.js';

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

test('300 events of 9.9 MB waiting for a down app: RSS stays under 300 MB (it reached 3.2 GB)', { timeout: 300_000 }, async (t) => {
  const appPort = await freePort();
  const wl = await startListening(['-f', `http://127.0.0.1:${appPort}`, '--max-body', '10mb', '--no-inspect']);
  t.after(() => wl.cleanup());
  const body = Buffer.from(JSON.stringify({ event: 'big', pad: 'x'.repeat(9_900_000) }));
  let peak = 0;
  for (let i = 0; i < 300; i++) {
    assert.equal((await send(wl.url, { body, headers: { 'content-type': 'application/json' } })).status, 200);
    peak = Math.max(peak, rssMb(wl.cli.child.pid!));
  }
  t.diagnostic(`RSS peaked at ${peak.toFixed(0)} MB`);
  assert.ok(peak < 300, `RSS peaked at ${peak.toFixed(0)} MB`);
});
