// What the empty inspector says: where to send an event, with copy buttons, and a sample ready to paste.
import { el, toast } from './dom.js';

/** The platform's own newMessage, short: what `webhook-listen send` sends in full. */
const SAMPLE = JSON.stringify({
  event: 'newMessage',
  message: { sender: { name: 'Chidi Okafor', authUser: false }, content: 'Hello, is my order on its way?', contentType: 'TEXT' },
  conversation: { status: 'in-queue', Channel: { medium: 'WHATSAPP', name: 'Acme Support NG' } },
});

/** A single-quoted shell word (the JSON above holds no single quote). */
const curlFor = (url) => `curl -X POST '${url}' -H 'content-type: application/json' --data '${SAMPLE}'`;

function copyButton(text, what) {
  return el(
    'button',
    { type: 'button', 'data-role': 'copy', onclick: () => navigator.clipboard.writeText(text).then(() => toast(`${what} copied`), () => toast(text)) },
    'copy',
  );
}

/** The empty list: the listener's URL (and the public one once the tunnel is open), and a cURL for a sample event. */
export function emptyState(config, tunnel) {
  const rows = [];
  if (tunnel?.publicUrl) rows.push(['public URL (paste it as the webhook URL)', tunnel.publicUrl]);
  if (config?.listenUrl) rows.push(['this machine', config.listenUrl]);
  const target = tunnel?.publicUrl ?? config?.listenUrl;
  return [
    el('p', {}, 'No events yet. Send one to:'),
    el(
      'table',
      { class: 'urls', 'data-role': 'urls' },
      rows.map(([label, url]) => el('tr', {}, el('td', { class: 'muted' }, label), el('td', { class: 'mono' }, url), el('td', {}, copyButton(url, 'URL')))),
    ),
    target ? el('p', {}, "or try the platform's sample ", copyButton(curlFor(target), 'cURL command')) : null,
    target ? el('pre', { 'data-role': 'sample-curl' }, curlFor(target)) : null,
    el('p', { class: 'muted' }, 'or from a terminal: webhook-listen send --to ', config?.listenUrl ?? "the listener's URL"),
  ];
}
