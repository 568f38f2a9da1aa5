// The retry policy (pure) and the queue's schedule under mock timers: an outage holds the line with a doubling wait
// that uses no retries; a rejected event retries on its own backoff (or Retry-After) while later ones flow.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { DeliveryResult, WebhookEvent } from '../../src/core/event.js';
import type { Deliverer } from '../../src/forward/deliver.js';
import { DeliveryQueue } from '../../src/forward/queue.js';
import { backoff, isOutage, isRetryable, rejectionDelay, retryAfterMs } from '../../src/forward/retry-policy.js';

const result = (r: Partial<DeliveryResult>): DeliveryResult => ({ eventId: 'e', target: 't', url: 't', method: 'POST', attempt: 1, final: true, durationMs: 1, at: '', ...r });

test('what counts as an outage, what is worth another try, and how long to wait', () => {
  assert.ok(isOutage(result({ error: 'ECONNREFUSED' })));
  assert.ok(isOutage(result({ error: 'CONNECT_TIMEOUT' })));
  for (const notOutage of ['INVALID', 'TLS', 'CANCELLED', 'INCOMPLETE', 'TIMEOUT']) assert.ok(!isOutage(result({ error: notOutage })), notOutage);
  for (const s of [500, 502, 503, 429, 408]) assert.ok(isRetryable(result({ status: s })), String(s));
  for (const s of [200, 301, 400, 404, 508]) assert.ok(!isRetryable(result({ status: s })), String(s));
  assert.ok(isRetryable(result({ error: 'INCOMPLETE' })));
  assert.ok(isRetryable(result({ error: 'TIMEOUT' })), 'an app that answers late is asked again, against --retries');
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoff(n, 1000, 30_000)), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  const later = result({ status: 503, response: { headers: [['Retry-After', '7']], size: 0 } });
  assert.equal(retryAfterMs(later), 7000);
  assert.equal(rejectionDelay(later, 1, 1000, 30_000), 7000);
  assert.equal(rejectionDelay(later, 4, 1000, 30_000), 8000, 'the backoff when it is longer');
  const at = result({ status: 429, response: { headers: [['retry-after', new Date(60_000).toUTCString()]], size: 0 } });
  assert.equal(retryAfterMs(at, 30_000), 30_000);
  assert.equal(retryAfterMs(result({ status: 503, response: { headers: [['retry-after', 'soon']], size: 0 } })), undefined);
});

/** A deliverer that answers from a script, one answer per attempt, and notes when each attempt went out. */
function scripted(answers: Record<string, (Partial<DeliveryResult> | undefined)[]>): Deliverer & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    async deliver(event: WebhookEvent, target: string, attempt: number) {
      sent.push(`${event.id}@${Date.now()}`);
      const next = answers[event.id]?.shift() ?? { status: 200 };
      return { result: result({ eventId: event.id, target, attempt, ...next }) };
    },
    warm() {},
    close: async () => {},
  };
}

const event = (id: string): WebhookEvent => ({ id, receivedAt: '', method: 'POST', url: '/', path: '/', query: '', headers: [], body: Buffer.alloc(0), size: 0, remoteAddress: '', name: null, targets: ['t'] });

/** Lets the queue's promises settle between timer ticks. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

test('an outage holds every event in order, said once; the app is probed every second and the line moves as soon as it answers', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.after(() => mock.timers.reset());
  const deliverer = scripted({ a: [{ error: 'ECONNREFUSED' }] });
  const results: DeliveryResult[] = [];
  const probes: number[] = [];
  let upAt = 7000;
  const probe = async (): Promise<boolean> => {
    probes.push(Date.now());
    return Date.now() >= upAt;
  };
  const backs: number[] = [];
  const queue = new DeliveryQueue({ deliverer, retries: 0, firstDelayMs: 1000, maxDelayMs: 30_000, probe, onResult: (r) => results.push(r), onBack: (_t, n) => backs.push(n) });
  queue.enqueue(event('a'), 't');
  queue.enqueue(event('b'), 't');
  for (let ms = 0; ms <= 8000; ms += 1000) {
    mock.timers.tick(ms === 0 ? 0 : 1000);
    await settle();
  }
  assert.deepEqual(probes, [1000, 2000, 3000, 4000, 5000, 6000, 7000], 'one probe a second, no backoff');
  assert.deepEqual(deliverer.sent, ['a@0', 'a@7000', 'b@7000'], 'sent again the moment the app answers a probe');
  assert.deepEqual(results.map((r) => [r.eventId, r.final, r.retryInMs]), [
    ['a', false, 1000],
    ['a', true, undefined],
    ['b', true, undefined],
  ], 'one line when it went down, none while it stays down');
  assert.deepEqual(backs, [2], 'one line when it is back, with what waits');
  upAt = Infinity;
  await queue.close(0);
});

test('a rejected event retries on its own backoff while the next one goes; --retries bounds it', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.after(() => mock.timers.reset());
  const deliverer = scripted({ a: [{ status: 503 }, { status: 503 }, { status: 503 }] });
  const results: DeliveryResult[] = [];
  const queue = new DeliveryQueue({ deliverer, retries: 2, firstDelayMs: 1000, maxDelayMs: 30_000, onResult: (r) => results.push(r) });
  queue.enqueue(event('a'), 't');
  queue.enqueue(event('b'), 't');
  for (const ms of [0, 1000, 2000]) {
    mock.timers.tick(ms);
    await settle();
  }
  assert.deepEqual(deliverer.sent, ['a@0', 'b@0', 'a@1000', 'a@3000']);
  assert.deepEqual(results.map((r) => [r.eventId, r.status, r.final]), [
    ['a', 503, false],
    ['b', 200, true],
    ['a', 503, false],
    ['a', 503, true],
  ]);
  assert.equal(queue.pending(), 0);
  await queue.close(0);
});

test('waiting events keep their bodies in memory only up to a byte budget; past it, only their place in the store', async (t) => {
  // Issue 25, item 10: spilled by count only (1,000 a target), 300 waiting events of 9.9 MB were 3.2 GB of RSS.
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.after(() => mock.timers.reset());
  const deliverer = scripted({ a: [{ error: 'ECONNREFUSED' }] });
  const big = (id: string): WebhookEvent => ({ ...event(id), body: Buffer.alloc(10) });
  const loaded: string[] = [];
  let up = false;
  const queue = new DeliveryQueue({
    deliverer,
    retries: 0,
    firstDelayMs: 1000,
    maxDelayMs: 30_000,
    inMemoryBytes: 25,
    probe: async () => up,
    spill: { load: (at) => (loaded.push(at.id), big(at.id)) },
    onResult: () => {},
  });
  for (const id of ['a', 'b', 'c', 'd']) queue.enqueue(big(id), 't', 0, { id });
  await settle();
  up = true;
  mock.timers.tick(1000);
  for (let i = 0; i < 5; i++) await settle();
  assert.deepEqual(loaded, ['c', 'd'], 'two bodies of 10 bytes fit a budget of 25; the others are read back from the store');
  assert.deepEqual(deliverer.sent.map((s) => s.split('@')[0]), ['a', 'a', 'b', 'c', 'd']);
  await queue.close(0);
});
