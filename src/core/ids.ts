// node:crypto is loaded on first use (process.getBuiltinModule, sync), not on the start-up path.
const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
let lastTime = 0;
const lastRandom = new Uint8Array(16);
// Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids, not one per id.
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;

let isoSecond = Number.NaN;
let isoPrefix = '';
/**
 * `new Date(ms).toISOString()`, with the part up to the second formatted once per second: V8's own costs ~6,000
 * instructions a call (a printf per field), the largest single item of an event's cost after parsing its body.
 */
export function isoTime(ms: number): string {
  // Outside the Date range (or not a time): toISOString's own error.
  if (!(Math.abs(ms) <= 8.64e15)) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000) * 1000;
  if (second !== isoSecond) {
    const iso = new Date(second).toISOString();
    if (!iso.endsWith('.000Z')) return new Date(ms).toISOString();
    isoSecond = second;
    isoPrefix = iso.slice(0, -4);
  }
  const milli = ms - second;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** A ULID-style id, lower case: 10 chars of milliseconds, 16 random; monotonic within one process. */
export function newEventId(clock = Date.now()): string {
  // Never behind the last id's time (a clock set back, or the millisecond borrowed below): ids stay in order.
  let now = Math.max(clock, lastTime);
  const head = lastRandom[0]! * 32 + lastRandom[1]!;
  if (now === lastTime && head < 1023) {
    // Same millisecond: the first two random characters go up by one and the rest is drawn again, so ids still sort
    // in the order they were made and differ within the 12 characters a short id shows (the live lines, `pending`).
    lastRandom[0] = (head + 1) >> 5;
    lastRandom[1] = (head + 1) & 31;
    drawRandom(2);
  } else {
    // A new millisecond; or the first two random characters are at their top, and the id takes the next millisecond,
    // so that no two ids ever share their first 12 characters (they did, past the top, or past 1,024 in one ms).
    if (now === lastTime) now++;
    drawRandom(0);
  }
  if (now !== lastTime) encodeTime(now, ID_BYTES);
  lastTime = now;
  for (let i = 0; i < 16; i++) ID_BYTES[10 + i] = ALPHABET[lastRandom[i]!]!;
  // One flat string from the bytes in one call, not 26 concatenations.
  return ID_BYTES.toString('latin1');
}

/** lastRandom[from..15] drawn anew, 5 random bits each. */
function drawRandom(from: number): void {
  if (poolUsed + 16 > pool.length) {
    crypto().randomFillSync(pool);
    poolUsed = 0;
  }
  for (let i = from; i < 16; i++) lastRandom[i] = pool[poolUsed++]! & 31;
}

/** An event id's length (newEventId). */
export const ID_LENGTH = 26;
/** What newEventId makes (and only that is looked up as an id). */
export const ID_SHAPE = /^[0-9a-z]{26}$/;

/**
 * The last `capacity` ids given out, packed in one buffer, 26 bytes each: for 50,000, 1.3 MB outside the JS heap
 * instead of ~3.4 MB of strings and Set entries inside it for the collector to walk. Ids of one process sort by the
 * time they were made, so a look-up is a binary search (16 comparisons for 50,000); only after the clock went back
 * (an id smaller than the one before) is the buffer scanned, until that id has left it. A look-up is what a request
 * carrying a webhook-listen header pays: a scan of 50,000 ids takes ~160 µs, a search ~2 µs.
 */
export class RecentIds {
  readonly #buf: Buffer;
  /** Where the next id goes; the oldest is here too once the buffer is full. */
  #next = 0;
  #count = 0;
  #last = '';
  /** Ids to add before the buffer is in order again (the one out of order and all before it gone). */
  #unsorted = 0;

  constructor(readonly capacity: number) {
    // Zero-filled and untouched: its pages are real memory only once ids are written into them.
    this.#buf = Buffer.alloc(capacity * ID_LENGTH);
  }

  add(id: string): void {
    if (id.length !== ID_LENGTH) return;
    if (id < this.#last) this.#unsorted = this.capacity;
    else if (this.#unsorted > 0) this.#unsorted--;
    this.#last = id;
    this.#buf.write(id, this.#next * ID_LENGTH, 'latin1');
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
    if (this.#count < this.capacity) this.#count++;
  }

  has(id: string): boolean {
    // Only an id's shape can match: an empty slot is zero bytes, and nothing else is written.
    if (!ID_SHAPE.test(id) || this.#count === 0) return false;
    const buf = this.#buf;
    if (this.#unsorted > 0) {
      for (let at = buf.indexOf(id, 0, 'latin1'); at !== -1; at = buf.indexOf(id, at + 1, 'latin1')) if (at % ID_LENGTH === 0) return true;
      return false;
    }
    const key = Buffer.from(id, 'latin1');
    const oldest = this.#count < this.capacity ? 0 : this.#next;
    let lo = 0;
    let hi = this.#count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = ((oldest + mid) % this.capacity) * ID_LENGTH;
      const c = buf.compare(key, 0, ID_LENGTH, at, at + ID_LENGTH);
      if (c === 0) return true;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

const ALPHABET = Buffer.from(CROCKFORD, 'latin1');
/** The id being made: the time part is rewritten only when the millisecond changes. */
const ID_BYTES = Buffer.alloc(26);

/** Milliseconds as 10 Crockford base-32 characters at the start of `into`, so ids sort by time as text. */
function encodeTime(now: number, into: Buffer): void {
  let t = now;
  for (let i = 9; i >= 0; i--) {
    into[i] = ALPHABET[t % 32]!;
    t = Math.floor(t / 32);
  }
}
