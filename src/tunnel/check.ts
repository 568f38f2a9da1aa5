import { bounded } from './http-get.js';
import type { LivenessCheck } from './types.js';

const PROBE_TIMEOUT_MS = 5000;

/**
 * Asks the public URL for the listener's liveness path; resolves null when the listener answered, else why not.
 * A public host that does not resolve (`<id>.localhost`, `<id>.127.0.0.1` from a self-hosted server) is reached at
 * the tunnel server's own address, with the public Host kept for routing.
 */
export function checkPublicUrl(publicUrl: string, tunnelHost: string, check: LivenessCheck): Promise<string | null> {
  return new Promise((resolve) => {
    // Not new URL(): a server addressed by IP hands out `http://<id>.127.0.0.1:P`, which WHATWG URLs reject.
    const m = /^(https?):\/\/([^/:]+)(?::(\d+))?/i.exec(publicUrl);
    if (!m) return resolve(`the public URL ${publicUrl} cannot be checked`);
    const secure = m[1]!.toLowerCase() === 'https';
    const hostname = m[2]!;
    let base = '';
    try {
      base = new URL(tunnelHost).hostname;
    } catch {
      // Only the fallback address is lost.
    }
    const { lookup } = process.getBuiltinModule('node:dns');
    const { request } = process.getBuiltinModule(secure ? 'node:https' : 'node:http');
    const req = request({
      host: hostname,
      port: m[3] ? Number(m[3]) : secure ? 443 : 80,
      path: check.path,
      method: 'GET',
      headers: { host: m[3] ? `${hostname}:${m[3]}` : hostname, 'bypass-tunnel-reminder': '1', 'user-agent': 'webhook-listen liveness' },
      agent: false,
      lookup: ((name: string, opts: object, cb: (...args: unknown[]) => void) =>
        lookup(base && name.endsWith('.' + base) ? base : name, opts, cb)) as never,
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 1024) body += d;
      });
      res.on('end', () => {
        if (res.statusCode === 200 && body === check.answer) resolve(null);
        else if (res.statusCode === 404) resolve('the tunnel server no longer knows this tunnel (404)');
        else resolve(`the public URL answered ${res.statusCode}${res.statusCode === 200 ? ' from something else than this listener' : ''}`);
      });
      res.on('error', () => resolve('the answer through the public URL was cut off'));
    });
    bounded(req, check.timeoutMs ?? 10_000);
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ETIMEDOUT' ? `no answer through the public URL within ${(check.timeoutMs ?? 10_000) / 1000} s` : `the public URL is unreachable (${err.code ?? err.message})`),
    );
    req.end();
  });
}

/** Any HTTP answer from the tunnel server means it is up; resolves with a reason when it is not. */
export function probe(host: string): Promise<string | null> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL('/api/status', host);
    } catch {
      resolve(`"${host}" is not a URL`);
      return;
    }
    // node:https (and TLS) loaded here, when a tunnel is wanted, not at start-up.
    const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
    const req = request(url, { method: 'GET' });
    bounded(req, PROBE_TIMEOUT_MS);
    req.on('response', (res) => {
      res.resume();
      resolve(null);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const where = url.host;
      const reason =
        err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
          ? `cannot resolve ${url.hostname} (offline?)`
          : err.code === 'ECONNREFUSED'
            ? `${where} refused the connection (tunnel server down?)`
            : `${where}: ${err.code ?? err.message}`;
      resolve(reason);
    });
    req.end();
  });
}

