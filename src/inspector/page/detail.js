// The detail's views: the body (JSON tree with numbers as sent, raw text, hex, image) and every delivery attempt.
import { API, HEX_STEP, LEVEL_CAP, el, formatBytes, state, statusClass, when } from './dom.js';

// ---- numbers as sent: JSON.parse rounds past 2^53, so the tree shows each number's own source text ----

class Num {
  constructor(source) {
    this.source = source;
  }
}

function parseExact(text) {
  return JSON.parse(text, (key, value, context) =>
    typeof value === 'number' && context?.source !== undefined && String(value) !== context.source ? new Num(context.source) : value,
  );
}

// ---- the JSON tree: <details> nodes, children built only when opened, a level capped with "show more" ----

function leaf(value) {
  if (value instanceof Num) return el('span', { class: 'j-num' }, value.source);
  if (typeof value === 'string') return el('span', { class: 'j-str' }, JSON.stringify(value));
  if (typeof value === 'number') return el('span', { class: 'j-num' }, String(value));
  return el('span', { class: 'j-lit' }, String(value));
}

function treeNode(key, value, open) {
  const label = key === null ? [] : [el('span', { class: 'j-key' }, key), ': '];
  if (value === null || typeof value !== 'object' || value instanceof Num) return el('div', { class: 'row' }, ...label, leaf(value));
  const isArray = Array.isArray(value);
  const keys = isArray ? null : Object.keys(value);
  const size = isArray ? value.length : keys.length;
  const details = el('details', open ? { open: true } : {}, el('summary', {}, ...label, el('span', { class: 'muted' }, isArray ? `[${size}]` : `{${size}}`)));
  let shown = 0;
  const more = el('button', { class: 'more', 'data-role': 'show-more', onclick: () => fill(LEVEL_CAP * 5) });
  const fill = (count) => {
    more.remove();
    const end = Math.min(size, shown + count);
    const nodes = [];
    for (let i = shown; i < end; i++) {
      const k = isArray ? String(i) : keys[i];
      nodes.push(treeNode(isArray ? k : JSON.stringify(k).slice(1, -1), value[k], false));
    }
    details.append(...nodes);
    shown = end;
    if (shown < size) {
      more.textContent = `show ${Math.min(size - shown, LEVEL_CAP * 5)} more of ${size}`;
      details.append(more);
    }
  };
  const first = () => {
    if (shown === 0 && size > 0) fill(LEVEL_CAP);
  };
  if (open) first();
  details.addEventListener('toggle', first);
  return details;
}

function openAll(root, depth) {
  for (const d of root.querySelectorAll(':scope > details')) {
    if (depth <= 0) continue;
    if (!d.open) d.open = true;
    d.dispatchEvent(new Event('toggle'));
    openAll(d, depth - 1);
  }
}

// ---- bodies: fetched only when shown ----

export async function bodyText(d) {
  if (!d.textTruncated) return d.bodyText ?? '';
  state.body ??= fetch(`${API}/events/${d.id}/text`).then((r) => r.text());
  return state.body;
}

/** Rows of 16 bytes, or 8 when the column cannot show 16 with their ASCII beside them. */
function hexView(bytes, offset, perRow = 16) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += perRow) {
    const chunk = bytes.subarray(i, i + perRow);
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...chunk].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(offset + i).toString(16).padStart(8, '0')}  ${hex.padEnd(perRow * 3 - 1)}  ${ascii}`);
  }
  return lines.join('\n');
}

/** Bytes per hex row that fit the column: a row is 12 + 4 columns a byte; a character of the 12 px font is ~7.3 px. */
const bytesPerRow = (pre) => (!pre.clientWidth || pre.clientWidth / 7.3 >= 12 + 16 * 4 ? 16 : 8);

function binaryView(d) {
  const box = el('div', { 'data-role': 'hex' });
  const pre = el('pre', { class: 'hex' }, 'loading…');
  const more = el('button', { class: 'more', 'data-role': 'hex-more' }, 'show more');
  box.append(pre);
  let bytes;
  let shown = 0;
  let perRow;
  const step = () => {
    const next = bytes.subarray(shown, shown + HEX_STEP);
    pre.textContent = (shown ? pre.textContent + '\n' : '') + hexView(next, shown, perRow ??= bytesPerRow(pre));
    shown += next.length;
    if (shown < bytes.length) {
      more.textContent = `show more (${formatBytes(bytes.length - shown)} left)`;
      box.append(more);
    } else more.remove();
  };
  more.addEventListener('click', step);
  fetch(`${API}/events/${d.id}/body`)
    .then((r) => r.arrayBuffer())
    .then((buf) => {
      bytes = new Uint8Array(buf);
      pre.textContent = '';
      step();
    });
  return box;
}

function rawView(d) {
  const pre = el('pre', { 'data-role': 'raw' }, d.bodyText || '(empty body)');
  if (!d.textTruncated) return pre;
  const all = el('button', { class: 'more', 'data-role': 'show-all' }, `show all (${formatBytes(d.bodySize)})`);
  all.addEventListener('click', async () => {
    all.disabled = true;
    pre.textContent = await bodyText(d);
    all.remove();
  });
  return el('div', {}, pre, all);
}

function treeView(d) {
  const box = el('div', { class: 'tree', 'data-role': 'tree' }, d.textTruncated ? 'loading…' : '');
  const build = (text) => {
    let value;
    try {
      value = parseExact(text);
    } catch {
      box.replaceChildren(el('pre', {}, text));
      return;
    }
    box.replaceChildren(treeNode(null, value, true));
    openAll(box, 3);
  };
  if (d.textTruncated) bodyText(d).then(build);
  else build(d.bodyText ?? '');
  return box;
}

export function bodyView(d, rerender) {
  const isText = d.bodyText !== undefined;
  const hasTree = d.kind === 'json';
  const views = [hasTree && 'tree', isText && 'raw', !isText && d.bodySize > 0 && 'hex', d.image && 'image'].filter(Boolean);
  const view = views.includes(state.view) ? state.view : views[0];
  const tabs = el(
    'div',
    { class: 'tabs' },
    views.map((v) => el('button', { 'aria-pressed': String(v === view), onclick: () => ((state.view = v), rerender()) }, v)),
    el('span', { class: 'muted' }, `${formatBytes(d.bodySize)} · ${d.kind}${d.encoding ? ` (${d.encoding})` : ''}${d.charset ? ` · ${d.charset}` : ''}`),
  );
  let content;
  if (d.bodySize === 0) content = el('p', { class: 'muted' }, '(empty body)');
  else if (view === 'tree') content = treeView(d);
  else if (view === 'raw') content = rawView(d);
  else if (view === 'image') content = el('img', { class: 'preview', 'data-role': 'image', alt: 'the body, as an image', src: `${API}/events/${d.id}/body` });
  else content = binaryView(d);
  return [tabs, content];
}

// ---- the response side: every attempt with what the app answered ----

/** An answer pretty-printed when it is JSON, its numbers written as sent (marked, stringified, unmarked). */
function prettyAnswer(body) {
  try {
    const marked = JSON.parse(body, (k, v, ctx) => (typeof v === 'number' && ctx?.source !== undefined ? `\u0000${ctx.source}` : v));
    return JSON.stringify(marked, null, 2).replace(/"\\u0000(-?[0-9.eE+-]+)"/g, '$1');
  } catch {
    return body;
  }
}

/**
 * One attempt; `later` is true when another attempt to the same target came after it (so it is no longer retrying);
 * `replayNo` numbers replays on their own (replay 1, 2…), apart from the event's attempts.
 */
function attemptCard(r, later = false, replayNo = 0) {
  const status = String(r.status ?? r.error);
  const failed = r.status === undefined || r.status >= 400;
  const card = el(
    'div',
    { class: `attempt${failed ? ' failed' : ''}`, 'data-role': 'attempt' },
    el(
      'div',
      { class: 'attempt-head' },
      el('span', { class: statusClass(status) }, status),
      el('span', { class: 'mono v' }, `${r.method} ${r.url}`),
      el('span', { class: 'muted' }, `${r.replay ? `${r.edited ? 'edited replay' : 'replay'} ${replayNo}` : `#${r.attempt}`} · ${r.durationMs} ms · ${when(r.at)}${r.final || r.replay ? '' : later ? ' · retried' : ' · retrying'}`),
    ),
    r.message ? el('div', { class: 'muted' }, r.message) : null,
    r.sent ? sentNode(r.sent) : null,
  );
  const resp = r.response;
  if (resp) {
    if (resp.body) card.append(answerNode(resp, statusClass(status).replace('status ', '')));
    else if (resp.bodyBase64) card.append(el('div', { class: 'muted' }, `(binary answer, ${formatBytes(resp.size)})`));
    if (resp.headers.length)
      card.append(
        el(
          'details',
          { class: 'resp-headers' },
          el('summary', {}, `response headers (${resp.headers.length})`),
          el('table', {}, resp.headers.map(([k, v]) => el('tr', {}, el('td', { class: 'k' }, k), el('td', { class: 'v' }, v)))),
        ),
      );
  }
  return card;
}

/** What an edited replay sent: its body (as text when it is UTF-8) and headers, opened on demand. */
function sentNode(sent) {
  const bytes = Uint8Array.from(atob(sent.bodyBase64), (ch) => ch.charCodeAt(0));
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, 65_536));
  } catch {
    text = `(${formatBytes(bytes.length)} of binary)`;
  }
  return el(
    'details',
    { class: 'sent', 'data-role': 'sent' },
    el('summary', {}, `what this replay sent (${formatBytes(bytes.length)}, ${sent.headers.length} headers)`),
    el('pre', {}, prettyAnswer(text)),
    el('table', {}, sent.headers.map(([k, v]) => el('tr', {}, el('td', { class: 'k' }, k), el('td', { class: 'v' }, v)))),
  );
}

/** The app's answer, its first line coloured as its status is (a 200's is not an error's red). */
function answerNode(response, tone) {
  const first = response.body.split('\n').find((l) => l.trim()) ?? '';
  const box = el('details', { class: `answer ${tone}`, 'data-role': 'answer' }, el('summary', {}, first.slice(0, 200)), el('pre', {}, prettyAnswer(response.body)));
  if (response.truncated) box.append(el('div', { class: 'muted' }, `${formatBytes(response.size)} in all; the first 64 kB kept`));
  return box;
}

export function responsePane(d) {
  if (!d.deliveries.length)
    return el('p', { class: 'muted', 'data-role': 'deliveries' }, d.targets.length ? 'pending…' : 'not forwarded (no --forward-to)');
  // In the order they happened: a replay is written at once, the attempt before it maybe a commit later.
  const all = [...d.deliveries].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const later = (i) => all.slice(i + 1).some((x) => x.target === all[i].target && !x.replay);
  let replays = 0;
  return el(
    'div',
    { 'data-role': 'deliveries' },
    all.map((r, i) => attemptCard(r, later(i), r.replay ? ++replays : 0)).reverse(),
  );
}

