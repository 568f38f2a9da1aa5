/**
 * Characters that must never reach a terminal as they are: C0 and C1 controls (escape sequences start with one) and
 * the bidirectional overrides and isolates (they reorder what follows them on the line). Global: for `replace`.
 */
export const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Words from elsewhere (a server, a relay), fit for one terminal line: unsafe characters as `?`, at most `max`. */
export function said(text: string, max = 200): string {
  const clean = text.replace(TERMINAL_UNSAFE, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** The first `max` UTF-16 units of `text`, one less when that would split a surrogate pair (no lone surrogate). */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Bytes that were cut short, less the start of a UTF-8 character the cut left incomplete (at most three bytes). */
export function withoutPartialUtf8(bytes: Buffer): Buffer {
  for (let i = 1; i <= Math.min(3, bytes.length); i++) {
    const b = bytes[bytes.length - i]!;
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > i ? bytes.subarray(0, bytes.length - i) : bytes;
  }
  return bytes;
}
