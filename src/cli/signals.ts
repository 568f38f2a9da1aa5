import type { Printer } from '../format/printer.js';

export const debug = /(^|,)\s*(webhook-listen|\*)/.test(process.env.DEBUG ?? '');

/** What a closed stdout does: exit quietly, or (once a listener runs) stop it cleanly. */
let stdoutClosed = (): void => process.exit(0);

/** A closed pipe (| head) ends output quietly rather than with a stack trace; a listener stops as on ^C. */
export function watchStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stdoutClosed();
  });
}

/**
 * ^C (or SIGTERM) shuts down cleanly and exits 0; a second one exits at once. Installed before the session starts:
 * a ^C right after the ready line (before the session was returned) used to meet node's default and kill the
 * process mid-write. One that comes while starting stops the session as soon as it is up.
 */
/**
 * Signals this close to the first are the same ^C: the terminal sends SIGINT to the whole process group, and a parent
 * such as npx forwards the one it got as well, so one key press arrived twice and exited 130.
 */
const SAME_SIGNAL_MS = 500;

export function stopOnSignals(printer: Printer): { attach(session: { shutdown(): Promise<void> }): void; starting: AbortSignal } {
  let signals = 0;
  let firstAt = 0;
  let session: { shutdown(): Promise<void> } | undefined;
  // A ^C while starting also cuts short what the start waits for (the banner's wait for a tunnel, up to 8 s).
  const starting = new AbortController();
  const shutdown = (s: { shutdown(): Promise<void> }): void => {
    s.shutdown().then(
      () => process.exit(0),
      (err: unknown) => fail(err, printer),
    );
  };
  const stop = (): void => {
    if (signals > 0 && Date.now() - firstAt < SAME_SIGNAL_MS) return;
    if (++signals === 1) firstAt = Date.now();
    if (signals > 1) {
      // Lines still gathered for the terminal (up to 10 ms of them) go out before the hard exit.
      printer.flush();
      process.exit(130);
    }
    if (session) shutdown(session);
    else starting.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The program reading the output exited (`| head`, a crashed `| jq`): a clean stop, said, rather than an exit that
  // leaves this listener's claims on owed deliveries to lapse before the next start can resume them.
  let closed = false;
  stdoutClosed = () => {
    if (closed) return;
    closed = true;
    process.stderr.write('stopping: the output was closed (the program reading it exited)\n');
    stop();
  };
  return {
    starting: starting.signal,
    attach(s) {
      session = s;
      if (signals > 0) shutdown(s);
    },
  };
}

/** Reports a failure in one line (its cause with DEBUG=webhook-listen) and exits 1. */
export function fail(err: unknown, printer?: Printer): never {
  const message = err instanceof Error ? err.message : String(err);
  printer?.flush();
  if (printer) printer.error(message, err);
  else process.stderr.write(`error: ${message}\n`);
  if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
