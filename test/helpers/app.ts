import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait.js';

export interface Received {
  method: string;
  url: string;
  headers: [string, string][];
  body: Buffer;
}

type Responder = (req: Received, res: ServerResponse) => void;

export interface RecordingApp {
  readonly port: number;
  readonly url: string;
  readonly received: Received[];
  respondWith(responder: Responder): void;
  waitForCount(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

const okResponder: Responder = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};

/** The developer's app: records every request it gets, answers 200 unless told otherwise. */
export async function startApp(port = 0): Promise<RecordingApp> {
  const received: Received[] = [];
  let responder: Responder = okResponder;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const pairs: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: pairs, body: Buffer.concat(chunks) };
      received.push(r);
      responder(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    received,
    respondWith(r) {
      responder = r;
    },
    async waitForCount(n, timeoutMs = 10_000) {
      await waitFor(() => received.length >= n, `${n} requests at the app (got ${received.length})`, timeoutMs);
      return received;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

export function header(r: Received, name: string): string | undefined {
  return r.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}
