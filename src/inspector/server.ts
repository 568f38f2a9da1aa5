import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PORT_TRIES } from '../core/defaults.js';
import { onNextFreePort } from '../core/ports.js';
import { json } from './api.js';
import { LiveStream } from './live.js';
import { route } from './routes.js';
import type { InspectorHandle, InspectorOptions } from './types.js';

export { listItem } from './api.js';
export { PREFIX } from './routes.js';
export type { InspectorHandle, InspectorOptions, ReplayRequest, TunnelStatus } from './types.js';

/** Headers on every answer: nothing is sniffed, framed or told where the user came from. */
const SAFE_HEADERS = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' };

/** Serves the inspector on loopback only, refusing foreign Hosts (DNS rebinding) and foreign Origins on writes. */
export async function startInspector(options: InspectorOptions): Promise<InspectorHandle> {
  const live = new LiveStream();
  let port = 0;
  let hosts = new Set<string>();
  let origins = new Set<string>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hosts.has(req.headers.host ?? '')) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      return void res.end(`Forbidden: the inspector answers only to Host 127.0.0.1:${port} or localhost:${port}\n`);
    }
    for (const [k, v] of Object.entries(SAFE_HEADERS)) res.setHeader(k, v);
    await route({ req, res, url: new URL(req.url ?? '/', `http://127.0.0.1:${port}`), options, live, origins });
  };
  // Not `import { createServer } from 'node:http'`: an ESM import of node:http evaluates every export, and its
  // WebSocket getters load Node's own copy of undici (nodejs/node#59686).
  const server = process.getBuiltinModule('node:http').createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.end();
    });
  });
  try {
    await onNextFreePort(options.port, options.portExplicit, (want) => listen(server, want), (err) => (err as NodeJS.ErrnoException).code === 'EADDRINUSE');
  } catch (err) {
    live.close();
    const code = (err as NodeJS.ErrnoException).code;
    const tried = options.port === 0 || options.portExplicit ? `port ${options.port} is` : `ports ${options.port}–${options.port + PORT_TRIES - 1} are`;
    throw new Error(
      code === 'EADDRINUSE'
        ? `inspector ${tried} already in use — pick another with ${options.portFlag ?? '--inspect-port, or --no-inspect'}`
        : `cannot start the inspector on 127.0.0.1:${options.port}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  port = (server.address() as AddressInfo).port;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  origins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    publishEvent: (event, summary) => live.event(event, summary),
    publishDelivery: (result) => live.delivery(result),
    publishTunnel: (status) => live.tunnelState(status),
    close() {
      closing ??= new Promise<void>((resolve) => {
        live.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: import('node:http').Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
