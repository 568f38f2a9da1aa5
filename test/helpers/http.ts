import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

/** One HTTP request over node:http (which, unlike fetch, sends the Host header it is given). */
export function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string> | [string, string][]; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // Always frame a body: node sends DELETE/OPTIONS bodies with neither Content-Length nor chunking.
    const pairs: [string, string][] = Array.isArray(opts.headers) ? [...opts.headers] : Object.entries(opts.headers ?? {});
    const framed = pairs.some(([k]) => /^(content-length|transfer-encoding)$/i.test(k));
    if (opts.body !== undefined && !framed) pairs.push(['Content-Length', String(Buffer.byteLength(opts.body))]);
    // With headers given as a list, node adds no Host of its own.
    if (!pairs.some(([k]) => k.toLowerCase() === 'host')) pairs.unshift(['Host', new URL(url).host]);
    const flat = pairs.flat();
    const req = request(url, {
      method: opts.method ?? 'POST',
      headers: flat,
      timeout: opts.timeoutMs ?? 10_000,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in time`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.end(opts.body);
  });
}

export const seedBytes = (): Buffer => readFileSync(new URL('../../../test/fixtures/new-message.json', import.meta.url));

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export const postJson = (url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<Reply> =>
  send(url, { body, headers: { 'content-type': 'application/json', ...headers } });

/** A gzip bomb: a small request that inflates to `mb` MB of valid JSON. */
export function gzipBomb(mb: number): Buffer {
  return gzipSync(Buffer.from(`{"event":"bomb","pad":"${'A'.repeat(mb * 1024 * 1024)}"}`), { level: 9 });
}
