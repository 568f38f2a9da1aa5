import { RunError } from '../core/errors.js';
import { type Channel, parseChannel } from '../relay/channel.js';
import { openStore } from '../store/index.js';
import { describeEvent } from '../format/describe.js';
import type { CommandIO } from './io.js';

export const DEFAULT_RELAY_SERVER = 'https://smee.io';
const NEW_TIMEOUT_MS = 10_000;

/** Asks a relay server for a new channel: smee.io answers `GET /new` with a 307 to it, gosmee with its URL as text. */
export function askForChannel(server: string): Promise<Channel> {
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    return Promise.reject(new RunError(`--server "${server}" is not a URL — e.g. https://smee.io or https://your-gosmee.example.com`));
  }
  const url = new URL('/new', base);
  const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
  return new Promise((resolve, reject) => {
    const failed = (why: string): void => reject(new RunError(`${url.href} gave no channel (${why}) — check --server, or make one in the browser and pass it to --relay`));
    const req = request(url, { method: 'GET', headers: { accept: 'text/plain' }, timeout: NEW_TIMEOUT_MS });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer within 10 s'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => failed(err.code ?? err.message));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (text.length < 4096) text += d;
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const found = status >= 300 && status < 400 ? res.headers.location : status === 200 ? text.trim().split(/\s+/)[0] : undefined;
        if (!found) return failed(`HTTP ${status}`);
        try {
          const channel = parseChannel(new URL(found, url).href);
          channel.kind = status === 200 ? 'gosmee' : 'smee';
          resolve(channel);
        } catch {
          failed(`it answered "${found.slice(0, 100)}"`);
        }
      });
    });
    req.end();
  });
}

/** `webhook-listen relay new`: a new channel, kept in the store so that a bare `--relay` uses it. */
export async function newRelayChannel(options: { server: string; storeDir: string }, io: CommandIO): Promise<void> {
  const channel = await askForChannel(options.server);
  const store = openStore(options.storeDir, { keep: Number.MAX_SAFE_INTEGER, describe: describeEvent, warn: (m) => io.printer.warn(m) });
  try {
    store.keepRelayChannel(channel.url, channel.kind ?? 'smee');
  } finally {
    store.close();
  }
  if (io.json) io.out.write(`${JSON.stringify({ type: 'relay-channel', channel: channel.url, kind: channel.kind })}\n`);
  else {
    io.out.write(`${channel.url}\n`);
    io.printer.info(`a ${channel.kind === 'gosmee' ? 'gosmee' : 'smee.io'} channel, kept in ${options.storeDir}: paste it as the webhook URL, then run: webhook-listen --relay -f <your app>`);
  }
}
