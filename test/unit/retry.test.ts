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
  assert.ok(isOutage(result({ error: 'TIMEOUT' })));
  for (const final of ['INVALID', 'TLS', 'CANCELLED', 'INCOMPLETE']) assert.ok(!isOutage(result({ error: final })), final);
  for (const s of [500, 502, 503, 429, 408]) assert.ok(isRetryable(result({ status: s })), String(s));
  for (const s of [200, 301, 400, 404, 508]) assert.ok(!isRetryable(result({ status: s })), String(s));
  assert.ok(isRetryable(result({ error: 'INCOMPLETE' })));
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

test('an outage holds every event in order, waiting 1, 2, 4 s without using up retries; then they flow', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.after(() => mock.timers.reset());
  const refused = { error: 'ECONNREFUSED' };
  const deliverer = scripted({ a: [refused, refused, refused] });
  const results: DeliveryResult[] = [];
  const queue = new DeliveryQueue({ deliverer, retries: 0, firstDelayMs: 1000, maxDelayMs: 30_000, onResult: (r) => results.push(r) });
  queue.enqueue(event('a'), 't');
  queue.enqueue(event('b'), 't');
  for (const ms of [0, 1000, 2000, 4000]) {
    mock.timers.tick(ms);
    await settle();
  }
  assert.deepEqual(deliverer.sent, ['a@0', 'a@1000', 'a@3000', 'a@7000', 'b@7000']);
  assert.deepEqual(results.map((r) => [r.eventId, r.final, r.retryInMs]), [
    ['a', false, 1000],
    ['a', false, 2000],
    ['a', false, 4000],
    ['a', true, undefined],
    ['b', true, undefined],
  ]);
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
