/** At most one write to the terminal (or pipe) this often while lines keep coming. */
export const WRITE_EVERY_MS = 10;

/**
 * Gathers the text written and writes it at once: a line after a quiet spell goes out in the same turn of the event
 * loop, and while lines keep coming they go out at most once every WRITE_EVERY_MS — under a flood, or while a backlog
 * drains one delivery per turn, that is one write call for many lines instead of one a turn (a drain spent ~18 % of
 * its CPU writing delivery lines one by one). flush() writes what is pending now (before exiting).
 */
export function coalesced(stream: NodeJS.WritableStream, everyMs = WRITE_EVERY_MS): { write(text: string): void; flush(): void } {
  let pending: string[] = [];
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = -Infinity;
  const flush = (): void => {
    scheduled = false;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length === 0) return;
    const text = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    lastWrite = performance.now();
    stream.write(text);
  };
  return {
    write(text) {
      pending.push(text);
      if (scheduled) return;
      scheduled = true;
      const wait = lastWrite + everyMs - performance.now();
      if (wait <= 0) setImmediate(flush);
      else timer = setTimeout(flush, wait);
    },
    flush,
  };
}
