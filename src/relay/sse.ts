/** One server-sent event as the stream framed it (WHATWG HTML, "event stream interpretation"). */
export interface SseMessage {
  /** The `id:` field, when the message had one. */
  id?: string;
  /** The `event:` field; '' for a plain message. */
  event: string;
  data: string;
}

export type SseItem = { message: SseMessage } | { tooLong: number } | { comment: true };

/**
 * An incremental, bounded event-stream parser. A line past `maxLine` bytes is skipped as it arrives, never buffered
 * whole (a hostile relay sending one endless line keeps memory flat); its message is reported as too long and
 * dropped. Lines end in LF, CRLF or CR.
 */
export class SseParser {
  #parts: Buffer[] = [];
  #lineBytes = 0;
  /** Skipping the rest of a line that went past the limit: its length so far. */
  #skipping = -1;
  #data: string[] = [];
  #event = '';
  #id: string | undefined;
  #hasId = false;
  #tooLong = 0;
  #afterCr = false;

  constructor(private readonly maxLine: number) {}

  /** Feeds a chunk; returns the messages (and refusals) it completed. */
  push(chunk: Buffer): SseItem[] {
    const out: SseItem[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== 0x0a && b !== 0x0d) continue;
      if (b === 0x0a && this.#afterCr && i === start) {
        // The LF of a CRLF split across chunks, or right after the CR.
        this.#afterCr = false;
        start = i + 1;
        continue;
      }
      this.#take(chunk.subarray(start, i));
      this.#afterCr = b === 0x0d;
      this.#endLine(out);
      start = i + 1;
      if (b === 0x0d && chunk[i + 1] === 0x0a) {
        i++;
        start = i + 1;
        this.#afterCr = false;
      }
    }
    if (start < chunk.length) {
      this.#afterCr = false;
      this.#take(chunk.subarray(start));
    }
    return out;
  }

  #take(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.#skipping >= 0) {
      this.#skipping += bytes.length;
      return;
    }
    this.#lineBytes += bytes.length;
    if (this.#lineBytes > this.maxLine) {
      this.#skipping = this.#lineBytes;
      this.#parts = [];
      this.#lineBytes = 0;
      return;
    }
    this.#parts.push(Buffer.from(bytes));
  }

  #endLine(out: SseItem[]): void {
    if (this.#skipping >= 0) {
      this.#tooLong = Math.max(this.#tooLong, this.#skipping);
      this.#skipping = -1;
      return;
    }
    const line = Buffer.concat(this.#parts).toString('utf8');
    this.#parts = [];
    this.#lineBytes = 0;
    if (line === '') return this.#dispatch(out);
    if (line.startsWith(':')) return void out.push({ comment: true });
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) {
      this.#id = value;
      this.#hasId = true;
    }
  }

  #dispatch(out: SseItem[]): void {
    if (this.#tooLong) out.push({ tooLong: this.#tooLong });
    else if (this.#data.length > 0) out.push({ message: { ...(this.#hasId ? { id: this.#id } : {}), event: this.#event, data: this.#data.join('\n') } });
    this.#data = [];
    this.#event = '';
    this.#hasId = false;
    this.#id = undefined;
    this.#tooLong = 0;
  }
}
