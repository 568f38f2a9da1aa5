import { type Piece, joinPieces } from './summary.js';
import { displayWidth, fits, neutralise, truncate } from './width.js';

type Role = Piece['role'];

/** The part of the line a person looks for: it keeps at least this many columns before lesser pieces go. */
const FLEX_MIN = 20;

/** How far a piece may be cut before lesser pieces go; absent: kept whole. */
const MIN: Partial<Record<Role, number>> = { name: 12, sender: 10, agent: 10, channel: 8, request: 12, note: 10, 'sig-bad': 6 };

/**
 * The order things give way in when a line is too wide: the message (or preview) down to FLEX_MIN first, then the
 * conversation, then lesser pieces cut to their minimum, then dropped — channel, body kind, note, path — and only then
 * the name, the sender and the message itself. Time, name, sender and ~20 characters of the message stay longest.
 */
const DROP_ORDER: Role[] = ['kind', 'channel', 'note', 'request'];

const width = (pieces: readonly Piece[]): number => displayWidth(joinPieces(pieces));
const isFlex = (role: Role): boolean => role === 'content' || role === 'preview';

/** Fits a summary's pieces into `columns`: every cut ends in `…`, and what matters most stays. */
export function fitPieces(pieces: readonly Piece[], columns: number, joined = joinPieces(pieces)): readonly Piece[] {
  // The common line (plain text that fits) is returned as it is: no copies, no walk over its characters.
  if (fits(joined, columns)) return pieces;
  const full = pieces.map((p) => ({ ...p, text: neutralise(p.text) }));
  if (width(full) <= columns) return full;
  let list = full.map((p) => ({ ...p }));
  const over = (): boolean => width(list) > columns;
  const cut = (pred: (p: Piece) => boolean, to: (p: Piece) => number): void => {
    for (const p of list) if (over() && pred(p)) p.text = truncate(p.text, Math.max(to(p), displayWidth(p.text) - (width(list) - columns)));
  };
  cut((p) => isFlex(p.role), () => FLEX_MIN);
  if (over()) list = list.filter((p) => p.role !== 'context');
  cut((p) => MIN[p.role] !== undefined && p.role !== 'name' && p.role !== 'sender' && p.role !== 'agent', (p) => MIN[p.role]!);
  for (const role of DROP_ORDER) if (over() && (role !== 'request' || list.some((p) => isFlex(p.role)))) list = list.filter((p) => p.role !== role);
  cut((p) => p.role === 'name' || p.role === 'sender' || p.role === 'agent', (p) => MIN[p.role]!);
  cut((p) => isFlex(p.role), () => 1);
  while (over() && list.length > 1) list.pop();
  if (over()) list = list.map((p) => ({ ...p, text: truncate(p.text, columns) }));
  giveBack(list, full, columns);
  return list;
}

/** Room left after the cuts goes back to what was cut, the message first. */
function giveBack(list: Piece[], full: readonly Piece[], columns: number): void {
  const order = [...list].sort((a, b) => Number(isFlex(b.role)) - Number(isFlex(a.role)));
  for (const p of order) {
    const whole = full.find((f) => f.role === p.role && f.text.startsWith(p.text.endsWith('…') ? p.text.slice(0, -1) : p.text))?.text;
    if (!whole || whole === p.text) continue;
    const room = columns - width(list) + displayWidth(p.text);
    if (room > displayWidth(p.text)) p.text = truncate(whole, room);
  }
}

/** A piece of a status line: painted once fitted; it may be cut down to `min` columns, or dropped (lowest first). */
export interface Part {
  text: string;
  paint?: (s: string) => string;
  min?: number;
  drop?: number;
  /** The text before it (two spaces unless said). */
  sep?: string;
}

/** Fits a line of parts into `columns`: cut what may be cut, then drop what may go, then cut the end. */
export function fitParts(parts: readonly Part[], columns: number): string {
  return fitLine(parts, columns).line;
}

/** fitParts, with the width the line takes. */
export function fitLine(parts: readonly Part[], columns: number): { line: string; width: number } {
  const given = parts.filter((p) => p.text !== '');
  // The common line (plain text that fits) is painted as it is: one join, no measuring (a delivery line per event).
  const joined = given.map((p, i) => (i > 0 ? (p.sep ?? '  ') : '') + p.text).join('');
  if (fits(joined, columns)) return { line: given.map((p, i) => (i > 0 ? (p.sep ?? '  ') : '') + (p.paint ? p.paint(p.text) : p.text)).join(''), width: joined.length };
  let list = given.map((p) => ({ ...p, text: neutralise(p.text) }));
  const plain = (): string => list.map((p, i) => (i > 0 ? (p.sep ?? '  ') : '') + p.text).join('');
  const over = (): number => displayWidth(plain()) - columns;
  for (const p of list) if (over() > 0 && p.min !== undefined) p.text = truncate(p.text, Math.max(p.min, displayWidth(p.text) - over()));
  for (const p of [...list].filter((x) => x.drop !== undefined).sort((a, b) => a.drop! - b.drop!)) if (over() > 0) list = list.filter((x) => x !== p);
  while (over() > 0 && list.length > 1 && displayWidth(list.at(-1)!.text) <= over()) list.pop();
  if (over() > 0) list.at(-1)!.text = truncate(list.at(-1)!.text, Math.max(1, displayWidth(list.at(-1)!.text) - over()));
  return { line: list.map((p, i) => (i > 0 ? (p.sep ?? '  ') : '') + (p.paint ? p.paint(p.text) : p.text)).join(''), width: displayWidth(plain()) };
}
