import type { RelayKind } from './message.js';

/** A relay channel as the user named it: where providers send, where we subscribe, and which server it is. */
export interface Channel {
  /** Where the provider sends (the public URL): `https://host/<name>`. */
  url: string;
  /** smee.io streams the channel's own URL; gosmee `/events/<name>`. Unknown until the server answers. */
  kind?: RelayKind;
}

/** Channel names as both servers take them (smee.io: `^[a-zA-Z0-9-_]+$`, at most 128). */
const NAME = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Reads `--relay`: `https://smee.io/abc`, `gosmee:https://hook.example.com/abc`, `smee:https://…`, or a gosmee stream
 * URL `https://host/events/abc` (then the channel is `https://host/abc`). Throws a message a person can act on.
 */
export function parseChannel(text: string): Channel {
  const m = /^(smee|gosmee):(.*)$/i.exec(text.trim());
  const said = m ? (m[1]!.toLowerCase() as RelayKind) : undefined;
  let url: URL;
  try {
    url = new URL(m ? m[2]! : text.trim());
  } catch {
    throw new Error(`--relay "${text}" is not a URL — give the channel's URL, e.g. https://smee.io/<channel> or gosmee:https://your-gosmee/<channel>`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`--relay ${text}: a channel URL starts with https:// (or http:// on your own network)`);
  const parts = url.pathname.split('/').filter(Boolean);
  const viaEvents = parts.length === 2 && parts[0] === 'events';
  const name = viaEvents ? parts[1] : parts.length === 1 ? parts[0] : undefined;
  if (!name || !NAME.test(name))
    throw new Error(`--relay ${text}: no channel in that URL — it looks like https://smee.io/<channel> (make one with: webhook-listen relay new)`);
  const channel: Channel = { url: `${url.origin}/${name}` };
  const kind = said ?? (viaEvents ? 'gosmee' : undefined);
  if (kind) channel.kind = kind;
  return channel;
}

/** Where to subscribe for a channel of this kind. */
export function streamUrl(channel: Channel, kind: RelayKind): string {
  if (kind === 'smee') return channel.url;
  const u = new URL(channel.url);
  return `${u.origin}/events${u.pathname}`;
}
