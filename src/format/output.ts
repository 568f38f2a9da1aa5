/** At most one write to the terminal (or pipe) this often while lines keep coming. */
export const WRITE_EVERY_MS = 10;
/**
 * Output queued in this process (the reader of a pipe stopped reading: a paused `| less`, a stuck script) past which
 * new lines are dropped rather than kept: with `--json` every event's body is in its line, so a flood would otherwise
 * grow memory without end. Every event is still in the store; a note says how many were dropped once output flows.
 */
export const OUTPUT_BACKLOG_MAX = 16 * 1024 * 1024;

/**
 * A monotonic clock in ms, without the `performance` global: its first use loads node's perf_hooks internals (~0.5 ms
 * before the banner could be written).
 */
const monotonicMs = (): number => process.uptime() * 1000;

export interface CoalescedOptions {
  everyMs?: number;
  backlogMax?: number;
  /** The text written once output flows again after `count` writes were dropped (a line, newline included). */
  dropped?(count: number): string;
}

/**
 * Gathers the text written and writes it at once: a line after a quiet spell goes out in the same turn of the event
 * loop, and while lines keep coming they go out at most once every WRITE_EVERY_MS — under a flood, or while a backlog
 * drains one delivery per turn, that is one write call for many lines instead of one a turn (a drain spent ~18 % of
 * its CPU writing delivery lines one by one). flush() writes what is pending now (before exiting).
 */
export function coalesced(stream: NodeJS.WritableStream, options: CoalescedOptions = {}): { write(text: string): void; flush(): void } {
  const everyMs = options.everyMs ?? WRITE_EVERY_MS;
  const backlogMax = options.backlogMax ?? OUTPUT_BACKLOG_MAX;
  const queued = stream as NodeJS.WritableStream & { writableLength?: number };
  let pending: string[] = [];
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = -Infinity;
  let dropped = 0;
  const flush = (): void => {
    scheduled = false;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length === 0) return;
    if ((queued.writableLength ?? 0) > backlogMax) {
      if (dropped === 0) stream.once('drain', resumed);
      dropped += pending.length;
      pending = [];
      return;
    }
    const text = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    lastWrite = monotonicMs();
    stream.write(text);
  };
  /** The queue went out: say what was dropped, before the lines that follow. */
  const resumed = (): void => {
    const count = dropped;
    dropped = 0;
    if (count > 0 && options.dropped) pending.unshift(options.dropped(count));
    flush();
  };
  return {
    write(text) {
      pending.push(text);
      if (scheduled) return;
      scheduled = true;
      const wait = lastWrite + everyMs - monotonicMs();
      if (wait <= 0) setImmediate(flush);
      else timer = setTimeout(flush, wait);
    },
    flush,
  };
}
