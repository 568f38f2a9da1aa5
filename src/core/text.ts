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
