import { RunError } from '../core/errors.js';
import { onNextFreePort } from '../core/ports.js';
import type { Printer } from '../format/printer.js';
import { type Answer, ListenError, type ListenerHandle, startListener } from '../http/listener.js';
import type { ListenOptions } from './options.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1', '0.0.0.0', '[::]']);

/** Binds the listener on the port asked for, or the next free one; a failure is a RunError. */
export async function bindListener(
  options: ListenOptions,
  onEvent: Parameters<typeof startListener>[0]['onEvent'],
  printer: Printer,
  liveness: { path: string; answer: string },
): Promise<{ listener: ListenerHandle; portNote?: string }> {
  const start = (port: number): Promise<ListenerHandle> =>
    startListener({
      port,
      host: options.host,
      path: options.path,
      maxBody: options.maxBody,
      headersTimeoutMs: options.headersTimeoutMs,
      tunnelEntry: options.tunnel !== false,
      liveness,
      // Bound to loopback, it answers only to loopback names (DNS rebinding); bound wider, to any.
      checkHost: ['127.0.0.1', '::1', 'localhost'].includes(options.host),
      onEvent,
      onIgnored: (info) => printer.ignored(info),
      onError: (err) => printer.error(`listener: ${err.message}`, err),
    });
  try {
    const busy = (err: unknown): boolean => err instanceof ListenError && err.code === 'EADDRINUSE';
    const { bound: listener, tried } = await onNextFreePort(options.port, options.portExplicit, start, busy);
    return tried > 1 ? { listener, portNote: `port ${options.port} was busy, using ${listener.port}` } : { listener };
  } catch (err) {
    throw new RunError((err as Error).message, { cause: err });
  }
}

/** A --forward-to that is this listener itself would send every event back to itself, for ever. */
export function selfTarget(targets: string[], host: string, port: number): string | undefined {
  return targets.find((t) => {
    try {
      const u = new URL(t);
      const tp = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      return tp === port && (LOOPBACK_NAMES.has(u.hostname) || u.hostname === host || u.hostname.endsWith('.localhost'));
    } catch {
      return false;
    }
  });
}

/** Where this machine reaches a listener bound to `host`. */
export function loopbackFor(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '::1') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** A secret for the liveness path: from the CSPRNG when a tunnel publishes it (node:crypto is loaded then anyway). */
export function token(strong: boolean): string {
  if (strong) return process.getBuiltinModule('node:crypto').randomBytes(12).toString('hex');
  return Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
}

export type { Answer };
