import type { ClientRequest } from 'node:http';

const CREATE_TIMEOUT_MS = 10_000;
const CREATE_ANSWER_MAX = 64 * 1024;

/**
 * Ends a request that has not finished within `ms`, answer included, with an ETIMEDOUT error. Not http's `timeout`
 * option, which is the socket's idle time: a server sending a byte now and then would keep it from ever firing (a
 * create request held open so, and the tunnel was never asked for again).
 */
export function bounded(req: ClientRequest, ms: number): void {
  const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no complete answer within ${ms / 1000} s`), { code: 'ETIMEDOUT' })), ms);
  req.once('close', () => clearTimeout(timer));
}

export type CreateResult = { status: number; body: unknown } | { redirect: string } | { failed: string };

/** One GET with a JSON answer (at most 64 KB, within CREATE_TIMEOUT_MS); never throws, answers once. */
export function getJson(uri: string, done: (result: CreateResult) => void): { abort(): void } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    queueMicrotask(() => done({ failed: `"${uri}" is not a URL` }));
    return { abort() {} };
  }
  let answered = false;
  const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
  const req = request(url, { method: 'GET', headers: { accept: 'application/json' } });
  bounded(req, CREATE_TIMEOUT_MS);
  const once = (r: CreateResult): void => {
    if (answered) return;
    answered = true;
    done(r);
  };
  req.on('response', (res) => {
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location) {
      res.resume();
      try {
        return once({ redirect: new URL(location, url).href });
      } catch {
        return once({ failed: `a redirect to "${location}"` });
      }
    }
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      text += d;
      if (text.length > CREATE_ANSWER_MAX) req.destroy();
    });
    res.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      once({ status, body });
    });
    res.on('error', () => once({ failed: 'the answer was cut off' }));
    res.on('close', () => once({ failed: 'the answer was cut off' }));
  });
  req.on('error', (err: NodeJS.ErrnoException) => once({ failed: err.code ?? err.message }));
  req.end();
  return {
    abort() {
      answered = true;
      req.destroy();
    },
  };
}

