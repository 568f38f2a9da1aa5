import type { WebhookEvent } from '../core/event.js';

/*
 * "Copy as cURL" that is safe to paste: the command is printable ASCII only, so no byte of a payload can reach the
 * terminal or the shell's line editor (bracketed paste, ^U, ESC sequences), and the body is data, never a file name
 * (curl reads `@file` from --data-binary arguments, not from stdin).
 */

const PRINTABLE = (b: number): boolean => b >= 0x20 && b <= 0x7e;

/** Bytes as bash/zsh ANSI-C quoting, $'…': printable ASCII as is, everything else \xHH. */
export function ansiC(bytes: Buffer): string {
  let out = "$'";
  for (const b of bytes) {
    if (b === 0x27) out += "\\'";
    else if (b === 0x5c) out += '\\\\';
    else if (PRINTABLE(b)) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out + "'";
}

/**
 * Bytes as a printf format in single quotes that prints exactly them: printable ASCII as is (% doubled, \ and '
 * escaped), everything else a three-digit octal escape (POSIX printf; NUL included, which $'…' cannot carry).
 */
export function printfFormat(bytes: Buffer): string {
  let out = "'";
  for (const b of bytes) {
    if (b === 0x25) out += '%%';
    else if (b === 0x5c) out += '\\\\';
    else if (b === 0x27) out += '\\047';
    else if (b === 0x0a) out += '\\n';
    else if (PRINTABLE(b)) out += String.fromCharCode(b);
    else out += `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out + "'";
}

/** A header as node gave it (one char per byte, latin1) back to its bytes. */
const headerBytes = (text: string): Buffer => Buffer.from(text, [...text].every((c) => c.charCodeAt(0) <= 0xff) ? 'latin1' : 'utf8');

/** Bodies larger than this are piped from `webhook-listen show --raw` instead of being written into the command. */
export const CURL_INLINE_MAX = 256 * 1024;

/** A curl command that sends the same request again, to `url` (the URL the delivery really used). */
export function curlFor(event: Pick<WebhookEvent, 'id' | 'method' | 'headers' | 'body'>, url: string): string {
  const skip = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'accept-encoding', 'expect']);
  const parts = [`curl -X ${ansiC(Buffer.from(event.method))} ${ansiC(Buffer.from(url))}`];
  for (const [k, v] of event.headers) if (!skip.has(k.toLowerCase())) parts.push(`-H ${ansiC(headerBytes(`${k}: ${v}`))}`);
  if (event.body.length === 0) return parts.join(' \\\n  ');
  parts.push('--data-binary @-');
  const source = event.body.length > CURL_INLINE_MAX ? `webhook-listen show ${event.id} --raw` : `printf ${printfFormat(event.body)}`;
  return `${source} |\n  ${parts.join(' \\\n  ')}`;
}

/** A file name for "Save as fixture": `<event>-<id>.<ext>`, with anything outside [A-Za-z0-9._-] replaced. */
export function fixtureName(event: Pick<WebhookEvent, 'id' | 'name'>, ext: string): string {
  const base = (event.name ?? 'event').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 80) || 'event';
  return `${base}-${event.id}.${ext.replace(/[^a-z0-9]/g, '')}`;
}
