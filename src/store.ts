import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeSync,
  accessSync,
  constants,
} from 'node:fs';
import { join } from 'node:path';
import { type DeliveryResult, type EventLocation, type StoredEvent, type WebhookEvent, newSegmentId, toStored } from './event.js';

/*
 * Layout: <dir>/<segment-id>-<pid>.ndjson, one JSON record per line, appended by exactly one process.
 * Each process writes only its own segments, so two listeners on one store never interleave bytes;
 * readers merge all segments. A crash can tear only the last line of the writer's current segment.
 */

export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

type EventRecord = { t: 'event' } & StoredEvent;
type DeliveryRecord = { t: 'delivery' } & DeliveryResult;
type StoreRecord = EventRecord | DeliveryRecord;

export interface StoredEntry {
  event: StoredEvent;
  deliveries: DeliveryResult[];
  /** The segment file the event was written to. */
  segment: string;
  /** Where its line is, to read it back later instead of keeping it. */
  at: EventLocation;
}

export interface StoreContents {
  /** Oldest first. */
  entries: StoredEntry[];
  warnings: string[];
}

export interface StoreHandle {
  readonly dir: string;
  appendEvent(event: WebhookEvent): EventLocation;
  /** Several events in one write (group commit); the segment may roll over before it. */
  appendEvents(events: WebhookEvent[]): EventLocation[];
  /** Reads back the event at a location this handle or readStore() gave out (any segment of the store). */
  readAt(location: EventLocation): StoredEvent;
  /** Keeps a segment from being pruned while something still needs an event in it (counted). */
  pin(file: string): void;
  unpin(file: string): void;
  appendDelivery(result: DeliveryResult): void;
  /** Flushes to disk and closes the current segment; safe to call twice. */
  close(): void;
}

export interface OpenStoreOptions {
  /** Keep at least this many of the newest events; older whole segments are deleted. */
  keep: number;
  /** Open the segment file on the first write instead of now (for commands that may write nothing). */
  lazy?: boolean;
}

const SEGMENT_RE = /^([0-9a-z]{26})-(\d+)\.ndjson$/;

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listSegments(dir: string): { file: string; pid: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new StoreError(`cannot read the event store ${dir} (${code}) — check its permissions or pass --store <dir>`, {
      cause: err,
    });
  }
  return names
    .map((name) => ({ name, m: SEGMENT_RE.exec(name) }))
    .filter((x) => x.m)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((x) => ({ file: join(dir, x.name), pid: Number(x.m![2]) }));
}

/** Writes all of it (a write may be partial); returns the bytes written. */
function writeAll(fd: number, text: string): number {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  return buf.length;
}

function describeFsError(err: unknown, dir: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return `the event store ${dir} is not writable (${code}) — fix its permissions or pass --store <dir>`;
  if (code === 'ENOSPC') return `the disk holding the event store ${dir} is full (ENOSPC) — free some space or pass --store <dir>`;
  return `cannot write the event store ${dir} (${code ?? (err as Error).message}) — pass --store <dir> to use another folder`;
}

/** Opens the store for writing; throws a StoreError with a message a person can act on. */
export function openStore(dir: string, options: OpenStoreOptions): StoreHandle {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new StoreError(describeFsError(err, dir), { cause: err });
  }
  const perSegment = Math.max(50, Math.ceil(options.keep / 10));
  let fd = -1;
  let current = '';
  let position = 0;
  let count = 0;
  const pins = new Map<string, number>();
  let reading: { file: string; fd: number } | undefined;
  const closeReading = (): void => {
    if (reading) closeSync(reading.fd);
    reading = undefined;
  };
  let closed = false;

  // Opened on the first write, so a process that only replays leaves no empty file behind.
  const openSegment = (): void => {
    const file = join(dir, `${newSegmentId()}-${process.pid}.ndjson`);
    try {
      fd = openSync(file, 'a');
      current = file;
      position = 0;
    } catch (err) {
      throw new StoreError(describeFsError(err, dir), { cause: err });
    }
    count = 0;
  };

  // Closed segments never change: count each once (re-counted only if its size moved, i.e. a live writer's).
  const counted = new Map<string, { size: number; count: number }>();
  const eventsIn = (file: string): number => {
    let size = -1;
    try {
      size = statSync(file).size;
    } catch {
      return 0;
    }
    const hit = counted.get(file);
    if (hit && hit.size === size) return hit.count;
    const count = countEvents(file);
    counted.set(file, { size, count });
    return count;
  };

  const prune = (): void => {
    const segments = listSegments(dir);
    const counts = segments.map((s) => eventsIn(s.file));
    let total = counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < segments.length - 1; i++) {
      const seg = segments[i]!;
      if (total - counts[i]! < options.keep) break;
      // Never a segment someone still writes: ours, or one of another live process.
      if (seg.file === current || pins.has(seg.file) || (seg.pid !== process.pid && isAlive(seg.pid))) continue;
      try {
        unlinkSync(seg.file);
        counted.delete(seg.file);
        total -= counts[i]!;
      } catch {
        // Another process pruned it first.
      }
    }
  };

  const append = (text: string): void => {
    if (closed) throw new StoreError('the event store is closed');
    if (fd === -1) openSegment();
    try {
      position += writeAll(fd, text);
    } catch (err) {
      throw new StoreError(describeFsError(err, dir), { cause: err });
    }
  };
  const line = (record: StoreRecord): string => JSON.stringify(record) + '\n';

  const appendEvents = (events: WebhookEvent[]): EventLocation[] => {
    if (fd !== -1 && count >= perSegment) {
      // We know how many events the segment we close holds: no need to read it back when pruning.
      counted.set(current, { size: statSync(current).size, count });
      closeSync(fd);
      openSegment();
      prune();
    }
    if (fd === -1) openSegment();
    // One string, one write; each line's byte length is where the next one starts.
    let text = '';
    let offset = position;
    const locations: EventLocation[] = [];
    for (const e of events) {
      const l = '{"t":"event",' + JSON.stringify(toStored(e)).slice(1) + '\n';
      const length = Buffer.byteLength(l);
      locations.push({ file: current, offset, length });
      offset += length;
      text += l;
    }
    append(text);
    count += events.length;
    return locations;
  };

  if (!options.lazy) openSegment();
  return {
    dir,
    appendEvent(event) {
      return appendEvents([event])[0]!;
    },
    appendEvents,
    readAt(loc) {
      // Read back in order, one segment after another: keep the last one open.
      if (reading?.file !== loc.file) {
        closeReading();
        reading = { file: loc.file, fd: openSync(loc.file, 'r') };
      }
      const buf = Buffer.allocUnsafe(loc.length);
      const n = readSync(reading.fd, buf, 0, loc.length, loc.offset);
      if (n !== loc.length) throw new StoreError(`${loc.file} is shorter than it was written`);
      const { t: _t, ...event } = JSON.parse(buf.toString('utf8')) as EventRecord;
      return event;
    },
    pin(file) {
      pins.set(file, (pins.get(file) ?? 0) + 1);
    },
    unpin(file) {
      const n = (pins.get(file) ?? 1) - 1;
      if (n <= 0) pins.delete(file);
      else pins.set(file, n);
    },
    appendDelivery(result) {
      append(line({ t: 'delivery', ...result }));
    },
    close() {
      if (closed) return;
      closed = true;
      closeReading();
      if (fd === -1) return;
      try {
        fsyncSync(fd);
      } catch {
        // Nothing more can be done at shutdown; the bytes are in the page cache.
      }
      closeSync(fd);
    },
  };
}

function countEvents(file: string): number {
  try {
    const text = readFileSync(file, 'utf8');
    let n = 0;
    let i = -1;
    while ((i = text.indexOf('{"t":"event"', i + 1)) !== -1) n++;
    return n;
  } catch {
    return 0;
  }
}

/** Reads every segment; unreadable lines are skipped and reported in `warnings`, never thrown. */
export function readStore(dir: string): StoreContents {
  const warnings: string[] = [];
  const byId = new Map<string, StoredEntry>();
  const orphans: DeliveryResult[] = [];
  for (const seg of listSegments(dir)) {
    let text: string;
    try {
      text = readFileSync(seg.file, 'utf8');
    } catch (err) {
      warnings.push(`skipped ${seg.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    const lines = text.split('\n');
    const last = lines.length - 1;
    let offset = 0;
    lines.forEach((line, i) => {
      const at = { file: seg.file, offset, length: Buffer.byteLength(line) + 1 };
      offset += at.length;
      if (line.length === 0) return;
      let record: StoreRecord;
      try {
        record = JSON.parse(line) as StoreRecord;
      } catch {
        warnings.push(
          i === last
            ? `skipped a torn last line in ${seg.file} (the writer stopped mid-write)`
            : `skipped an unreadable line ${i + 1} in ${seg.file}`,
        );
        return;
      }
      if (record.t === 'event') {
        const { t: _t, ...event } = record;
        byId.set(event.id, { event, deliveries: [], segment: seg.file, at });
      } else if (record.t === 'delivery') {
        const { t: _t, ...result } = record;
        const entry = byId.get(result.eventId);
        if (entry) entry.deliveries.push(result);
        else orphans.push(result);
      }
    });
  }
  for (const result of orphans) byId.get(result.eventId)?.deliveries.push(result);
  const entries = [...byId.values()].sort((a, b) => (a.event.id < b.event.id ? -1 : 1));
  return { entries, warnings };
}

/** Finds events by id prefix, like git: exact match wins, else every event whose id starts with it. */
export function findByPrefix(entries: StoredEntry[], prefix: string): StoredEntry[] {
  const p = prefix.toLowerCase();
  const exact = entries.find((e) => e.event.id === p);
  if (exact) return [exact];
  return entries.filter((e) => e.event.id.startsWith(p));
}

/** The shortest prefix (at least `min` chars) that tells each id apart from its neighbours. */
export function shortIds(ids: string[], min = 10): Map<string, string> {
  const sorted = [...ids].sort();
  const out = new Map<string, string>();
  const common = (a = '', b = ''): number => {
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    return i;
  };
  sorted.forEach((id, i) => {
    const n = Math.max(common(id, sorted[i - 1]), common(id, sorted[i + 1])) + 1;
    out.set(id, id.slice(0, Math.max(min, n)));
  });
  return out;
}

export interface PendingDelivery {
  event: StoredEvent;
  /** Where the event is in the store. */
  at: EventLocation;
  target: string;
  attempts: number;
}

/**
 * Deliveries that were queued but never finished, left by processes that are gone,
 * limited to the given targets. Oldest first, so resuming keeps the order per target.
 */
export function pendingDeliveries(contents: StoreContents, targets: string[]): PendingDelivery[] {
  const wanted = new Set(targets);
  const pending: PendingDelivery[] = [];
  for (const entry of contents.entries) {
    const m = SEGMENT_RE.exec(entry.segment.split(/[\\/]/).pop() ?? '');
    if (!m || isAlive(Number(m[2]))) continue;
    for (const target of entry.event.targets ?? []) {
      if (!wanted.has(target)) continue;
      const tries = entry.deliveries.filter((d) => d.target === target && !d.replay);
      if (tries.some((d) => d.final)) continue;
      pending.push({ event: entry.event, at: entry.at, target, attempts: tries.length });
    }
  }
  return pending;
}

/** Bytes the store takes on disk (for the banner). */
export function storeSize(dir: string): number {
  return listSegments(dir).reduce((sum, s) => {
    try {
      return sum + statSync(s.file).size;
    } catch {
      return sum;
    }
  }, 0);
}
