/*
 * A latency probe with microsecond resolution (autocannon reports whole milliseconds, too coarse for "+1 ms").
 * Open loop at a fixed rate: requests leave on schedule whether or not earlier ones have answered, so a slow
 * server is not hidden by a client that waits for it. Each target is given in turn, in short alternating blocks,
 * so both see the same machine. Prints one JSON object: per target, latencies in ms.
 *
 *   node latency-client.js <body-file> <rate per s> <seconds per target> <url> [<url>...]
 */
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';

const [bodyFile, rateArg, secondsArg, ...urls] = process.argv.slice(2);
const body = readFileSync(bodyFile!);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const BLOCK_MS = 500;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function once(url: string): Promise<number> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    });
    req.on('error', () => resolve(Number.NaN));
    req.end(body);
  });
}

/** Sends at `rate` per second to `url` for `ms`; resolves with every latency. */
async function block(url: string, ms: number): Promise<number[]> {
  const pending: Promise<number>[] = [];
  const start = performance.now();
  const interval = 1000 / rate;
  let sent = 0;
  while (performance.now() - start < ms) {
    const due = start + sent * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 1));
    else if (wait > 0) await new Promise((r) => setImmediate(r));
    else {
      pending.push(once(url));
      sent++;
    }
  }
  return Promise.all(pending);
}

const samples = new Map<string, number[]>(urls.map((u) => [u, []]));
// Warm-up: connections open, code paths compiled.
for (const url of urls) await block(url, 1000);
for (let elapsed = 0; elapsed < seconds * 1000; elapsed += BLOCK_MS) {
  for (const url of urls) samples.get(url)!.push(...(await block(url, BLOCK_MS)));
}
const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const out: Record<string, { count: number; errors: number; p50: number; p90: number; p99: number }> = {};
for (const [url, xs] of samples) {
  const ok = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  out[url] = { count: ok.length, errors: xs.length - ok.length, p50: pct(ok, 50), p90: pct(ok, 90), p99: pct(ok, 99) };
}
console.log(JSON.stringify(out));
agent.destroy();
