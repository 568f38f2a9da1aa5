/*
 * JSON text for the terminal and for tools: one line, every character a terminal could act on written as \uXXXX
 * (C1 controls, bidi overrides, line separators), and a body's numbers kept exactly as the sender wrote them.
 */

/** Characters that are valid raw inside a JSON string but that a terminal or an editor may act on. */
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const escapeUnsafe = (text: string): string => text.replace(UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * A JSON text as one line: whitespace between tokens dropped, unsafe characters inside strings escaped; numbers,
 * strings and nesting untouched. Linear time, no recursion (any depth), and no parse: `text` must already be valid
 * JSON (as a body that JSON.parse accepted is).
 */
export function compactJson(text: string): string {
  // Already compact (no whitespace at all, so none between tokens): only the escapes to add.
  if (!/[\s\ufeff]/.test(text)) return escapeUnsafe(text);
  let out = '';
  let from = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: jump to its closing quote (native search), past quotes escaped by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j === -1) return escapeUnsafe(out + text.slice(from));
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      i = j;
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return escapeUnsafe(out + text.slice(from));
}

/** JSON.stringify for a record a person may read in a terminal: unsafe characters as \uXXXX (still valid JSON). */
export function safeStringify(value: unknown): string {
  return escapeUnsafe(JSON.stringify(value));
}

/** A JSON text to put into a record as it is (a body, compacted), instead of re-serialising its parsed value. */
export class RawJson {
  constructor(readonly text: string) {}
}

/**
 * One record as a line: like safeStringify, with each RawJson value written as its text. Deep bodies therefore never
 * meet JSON.stringify's recursion, and big integers are never rounded.
 */
export function recordLine(record: Record<string, unknown>): string {
  // Top-level fields one by one (as JSON.stringify would: undefined and functions left out), raw texts as they are.
  let line = '{';
  for (const key of Object.keys(record)) {
    const value = record[key];
    const text = value instanceof RawJson ? value.text : JSON.stringify(value);
    if (text === undefined) continue;
    line += `${line.length > 1 ? ',' : ''}${JSON.stringify(key)}:${text}`;
  }
  // Raw texts are already safe (compactJson); escaping the whole line again changes nothing in them.
  return escapeUnsafe(line + '}');
}

/**
 * A JSON text pretty-printed for a person, from the text itself: numbers as sent, linear in the text whatever the
 * depth (indentation stops growing at 20 levels), and it stops after about `limit` characters.
 */
export function prettyJson(text: string, limit: number): { text: string; cut: boolean } {
  const parts: string[] = [];
  let size = 0;
  let depth = 0;
  let inString = false;
  let start = 0;
  const push = (s: string): void => {
    parts.push(s);
    size += s.length;
  };
  const newline = (): string => '\n' + '  '.repeat(Math.min(depth, 20));
  for (let i = 0; i < text.length && size < limit; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') {
        push(text.slice(start, i + 1));
        inString = false;
      }
      continue;
    }
    if (ch === '"') {
      inString = true;
      start = i;
    } else if (ch === '{' || ch === '[') {
      depth++;
      const close = ch === '{' ? '}' : ']';
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === close) {
        depth--;
        push(ch + close);
        i = j;
      } else push(ch + newline());
    } else if (ch === '}' || ch === ']') {
      depth--;
      push(newline() + ch);
    } else if (ch === ',') push(',' + newline());
    else if (ch === ':') push(': ');
    else if (!/\s/.test(ch)) {
      let j = i;
      while (j < text.length && !/[\s,:\]}]/.test(text[j]!)) j++;
      push(text.slice(i, j));
      i = j - 1;
    }
  }
  const out = parts.join('');
  return { text: out.length > limit ? out.slice(0, limit) : out, cut: size >= limit };
}
