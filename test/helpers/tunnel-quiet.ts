import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { TestContext } from 'node:test';
import { seedBytes, sha256 } from './http.js';
import { startTunnelScene } from './tunnel-scene.js';
import { sleep, waitFor } from './wait.js';

/** Webhooks through the tunnel after a quiet longer than the local port's header timeout: answered, kept, forwarded. */
export async function quietThenPost(t: TestContext, quietMs: number, headersTimeoutMs?: number): Promise<void> {
  const env: Record<string, string> = headersTimeoutMs ? { WEBHOOK_LISTEN_HEADERS_TIMEOUT_MS: String(headersTimeoutMs) } : {};
  const { app, cli, postThrough, ready } = await startTunnelScene(t, { env });
  assert.equal((await postThrough('/first', seedBytes())).status, 200);
  await app.waitForCount(1);
  if (headersTimeoutMs) {
    // The shortened timer is real: a silent socket on the local port is answered 408 once it has run out.
    const local = new URL(String(ready.listenUrl));
    const silent = connect(Number(local.port), '127.0.0.1');
    t.after(() => silent.destroy());
    let heard = '';
    silent.on('data', (d) => (heard += String(d)));
    await waitFor(() => /^HTTP\/1\.1 408/.test(heard), 'a 408 on a silent local socket', headersTimeoutMs * 5);
  }
  // The tunnel's pooled sockets sat idle all this time: none of them may have been answered 408.
  await sleep(quietMs);
  for (let i = 0; i < 3; i++) {
    const reply = await postThrough(`/after-quiet-${i}`, seedBytes());
    assert.equal(reply.status, 200, `webhook ${i + 1} after the quiet: ${reply.status} ${reply.text}`);
  }
  const got = await app.waitForCount(4);
  assert.deepEqual(
    got.map((r) => r.url),
    ['/first', '/after-quiet-0', '/after-quiet-1', '/after-quiet-2'],
  );
  assert.equal(sha256(got[3]!.body), sha256(seedBytes()));
  await waitFor(() => cli.records().filter((r) => r.type === 'event').length >= 4, 'four event records');
  assert.equal(cli.records().filter((r) => r.type === 'event').length, 4, 'every webhook was recorded and printed');
  assert.equal(cli.records().filter((r) => r.type === 'tunnel').length, 0, 'the tunnel never looked down');
}

