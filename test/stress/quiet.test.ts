// The real thing the tunnel-liveness test shortens: 30 s of quiet at node's default header timeout (20 s).
import { test } from 'node:test';
import { quietThenPost } from '../helpers/tunnel-quiet.js';

test('after 30 s of quiet, webhooks through the tunnel are still answered 200, recorded and forwarded', { timeout: 90_000 }, async (t) => {
  await quietThenPost(t, 30_000);
});
