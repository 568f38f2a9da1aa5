/**
 * Characters that must never reach a terminal as they are: C0 and C1 controls (escape sequences start with one) and
 * the bidirectional overrides and isolates (they reorder what follows them on the line). Global: for `replace`.
 * One place for everything that prints outside text: the event printers and the tunnel's server messages.
 */
export const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
