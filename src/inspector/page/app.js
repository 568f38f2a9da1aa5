// The inspector page: the list, live updates, the detail and its actions.
import { API, $, el, formatBytes, pieceNodes, state, statusClass, toast, when } from './dom.js';
import { bodyText, bodyView, responsePane } from './detail.js';
import { emptyState } from './empty.js';

// ---- the list: one dense line per event; filtering and paging happen in the store ----

function filters() {
  return { name: $('#filter-name').value, q: $('#filter-text').value.trim() };
}

function matchesFilters(item) {
  const { name, q } = filters();
  if (name && item.name !== name) return false;
  // The same notion as the store's (core/search.ts): trimmed, anywhere in summary, id or path, any case.
  return !q || `${item.text} ${item.id} ${item.path}`.toLowerCase().includes(q.toLowerCase());
}

/** The order a dense line reads best in: who and what first, where after. */
const LINE_ORDER = ['name', 'sig-bad', 'sig-ok', 'request', 'sender', 'agent', 'content', 'preview', 'kind', 'note', 'channel', 'context'];
const lineOrder = (pieces) => [...pieces].sort((a, b) => LINE_ORDER.indexOf(a.role) - LINE_ORDER.indexOf(b.role));

function row(item) {
  return el(
    'li',
    { 'data-id': item.id, class: item.id === state.selected ? 'selected' : '', title: item.text, onclick: () => select(item.id) },
    el('span', { class: 'time' }, when(item.receivedAt)),
    el('span', { class: 'ref', 'data-role': 'ref' }, item.seq ? `#${item.seq}` : ''),
    el('span', { class: 'line' }, pieceNodes(lineOrder(item.pieces))),
    el('span', { class: statusClass(item.status), 'data-role': 'status' }, item.status),
  );
}

function renderList() {
  // Newest first whatever order the stream and the history arrived in (ids sort by time).
  state.events.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  $('#events').replaceChildren(...state.events.map(row));
  renderCount();
}

function renderCount() {
  const filtered = filters().name || filters().q;
  $('#empty').hidden = state.events.length > 0;
  if (filtered) $('#empty').textContent = 'No event matches the filter.';
  else if (state.events.length === 0) $('#empty').replaceChildren(...emptyState(state.config, state.tunnel).filter(Boolean));
  $('#more').hidden = !state.next;
  $('#count').textContent = `${state.events.length < state.total ? `${state.events.length} of ` : ''}${state.total} events`;
}

// ---- events as they arrive: drawn in batches at the top of the list, which keeps at most LIST_MAX of them ----

/**
 * Rows the list grows to with live events; older ones are dropped from the page (not the store) and "more" brings
 * them back. Redrawing the whole list for each event froze the page for 19 s after a burst of 2,000 (sorting and
 * rebuilding n rows n times).
 */
const LIST_MAX = 500;
/** Live events not drawn yet (newest last), and how many matching ones were dropped from it unseen. */
const incoming = [];
let incomingDropped = 0;

function queueLive(item) {
  incoming.push(item);
  if (incoming.length > LIST_MAX) incomingDropped += incoming.splice(0, incoming.length - LIST_MAX).length;
  queueLive.timer ??= setTimeout(drawLive, 50);
}

function drawLive() {
  queueLive.timer = undefined;
  const known = new Set(state.events.map((e) => e.id));
  const fresh = incoming.splice(0).filter((item) => !known.has(item.id) && known.add(item.id)).reverse();
  state.total += fresh.length + incomingDropped;
  const dropped = incomingDropped;
  incomingDropped = 0;
  if (fresh.length === 0) return renderCount();
  const before = state.events.length;
  const list = $('#events');
  if (state.events.length && fresh.at(-1).id < state.events[0].id) {
    // Older than what is on top (another listener's, on the same store): placed by a full redraw.
    state.events.unshift(...fresh);
    renderList();
  } else {
    state.events.unshift(...fresh);
    const rows = fresh.map(row);
    for (const r of rows) r.classList.add('fresh');
    list.prepend(...rows);
  }
  // Live events never grow the list past LIST_MAX (or what "more" already brought in).
  const keep = Math.max(LIST_MAX, before);
  if (state.events.length > keep || dropped > 0) {
    for (const gone of state.events.splice(keep)) list.querySelector(`li[data-id="${gone.id}"]`)?.remove();
    state.next = state.events.at(-1)?.id ?? null;
  }
  renderCount();
}

function addName(name) {
  if (!name || state.names.has(name)) return;
  state.names.add(name);
  $('#filter-name').append(el('option', { value: name }, name));
}

async function load(more = false) {
  const { name, q } = filters();
  const params = new URLSearchParams();
  if (name) params.set('name', name);
  if (q) params.set('q', q);
  if (more && state.next) params.set('before', String(state.next));
  const asked = params.toString();
  load.asked = asked;
  const res = await fetch(`${API}/events?${asked}`);
  if (!res.ok || load.asked !== asked) return;
  const page = await res.json();
  if (more) state.events.push(...page.events.filter((e) => !state.events.some((x) => x.id === e.id)));
  else {
    // Events that came over the stream while the page was asked for may be newer than it: they stay on top.
    const inPage = new Set(page.events.map((e) => e.id));
    const newer = state.live.filter((e) => !inPage.has(e.id) && matchesFilters(e));
    state.events = [...newer, ...page.events];
    state.total = page.total + newer.length;
  }
  state.next = page.next;
  if (more) state.total = page.total;
  for (const e of page.events) addName(e.name);
  renderList();
}

// ---- actions ----

// Acts on the event whose detail is shown (its buttons are disabled while another one loads), never on the one
// being loaded: a click on Replay just after selecting another event replayed that other event.
async function post(path, payload) {
  const res = await fetch(`${API}/events/${state.detail.id}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload ?? {}) });
  const out = await res.json();
  return { ok: res.ok, status: res.status, out };
}

async function control(action) {
  const { ok, status, out } = await post(action);
  if (!ok) return toast(out.error ?? `${action} failed (${status})`);
  toast(action === 'cancel' ? `gave up on ${out.count} waiting ${out.count === 1 ? 'delivery' : 'deliveries'}` : `retrying ${out.count} now`);
  setTimeout(() => select(state.selected, true), 1500);
}

async function replay(payload) {
  const { ok, status, out } = await post('replay', payload);
  if (!ok) return toast(out.error ?? `replay failed (${status})`);
  toast(`replayed → ${out.results.map((x) => x.status ?? x.error).join(', ')}`);
  await select(state.selected, true);
}

async function editor(d) {
  const headersText = d.headers.map(([k, v]) => `${k}: ${v}`).join('\n');
  const headers = el('textarea', { rows: 6, 'data-role': 'edit-headers' });
  headers.value = headersText;
  const body = el('textarea', { rows: 14, 'data-role': 'edit-body' });
  // The text exactly as received: what is not edited is sent as the original bytes.
  const original = d.editable ? await bodyText(d) : '';
  body.value = original;
  const note = d.editable
    ? null
    : el('p', { class: 'muted', 'data-role': 'not-editable' }, `This body (${d.kind}${d.encoding ? `, ${d.encoding}` : ''}${d.charset ? `, ${d.charset}` : ''}, ${formatBytes(d.bodySize)}) cannot be edited as text; it is replayed as received. Headers can still be edited.`);
  if (!d.editable) body.disabled = true;
  const send = () => {
    const payload = {};
    if (d.editable && body.value !== original) payload.body = body.value;
    if (headers.value !== headersText)
      payload.headers = headers.value
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => {
          const i = l.indexOf(':');
          return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
        })
        .filter(([k]) => k);
    replay(payload);
  };
  return el(
    'div',
    { class: 'editor' },
    el('h3', {}, 'Edit and replay'),
    el('label', {}, 'Headers (one per line: Name: value)'),
    headers,
    el('label', {}, 'Body'),
    note,
    body,
    el('div', { class: 'actions' }, el('button', { class: 'primary', onclick: send, 'data-role': 'send-edited' }, 'Send edited'), el('button', { onclick: () => renderDetail() }, 'Cancel')),
  );
}

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    toast(done);
  } catch {
    // Clipboard access can be refused (http, permissions): show it to copy by hand.
    $('#detail').prepend(el('pre', { 'data-role': 'curl-text' }, text));
  }
}

/** Where a relayed event came from, and whether its bytes are the sender's (format/history-view.ts says the same). */
function viaText(v) {
  const server = v.relay === 'gosmee' ? 'gosmee' : 'smee.io';
  return `via ${server} channel ${v.channel}${v.reserialised ? ' — body re-serialised by the relay: not the bytes the sender signed' : ''}`;
}

async function renderDetail(editing = false) {
  const pane = $('#detail');
  const d = state.detail;
  if (!d) return;
  const pending = /pending/.test(d.status);
  const request = el(
    'section',
    { class: 'side request', 'aria-label': 'request' },
    el('h3', {}, 'Request'),
    el('div', { class: 'meta' }, el('span', { class: 'mono v' }, `${d.method} ${d.url}`), el('span', {}, d.via ? viaText(d.via) : `from ${d.remoteAddress || 'unknown'}`)),
    ...bodyView(d, () => renderDetail()),
    el('h3', {}, `Headers (${d.headers.length})`),
    el('table', { 'data-role': 'headers' }, d.headers.map(([k, v]) => el('tr', {}, el('td', { class: 'k' }, k), el('td', { class: 'v' }, v)))),
  );
  const response = el('section', { class: 'side response', 'aria-label': 'response' }, el('h3', {}, 'Deliveries and answers'), responsePane(d));
  const parts = [
    el('h2', {}, pieceNodes(d.pieces)),
    el('div', { class: 'meta' }, el('span', {}, when(d.receivedAt)), el('span', { class: statusClass(d.status) }, d.status), el('span', { class: 'mono' }, d.id)),
    el(
      'div',
      { class: 'actions' },
      el('button', { class: 'primary', 'data-role': 'replay', onclick: () => replay() }, 'Replay'),
      el('button', { 'data-role': 'edit', onclick: () => renderDetail(true) }, 'Edit and replay'),
      d.curl ? el('button', { 'data-role': 'curl', onclick: () => copy(d.curl, 'cURL command copied') }, 'Copy as cURL') : null,
      el('a', { href: `${API}/events/${d.id}/raw`, download: d.fixture }, el('button', { tabindex: -1 }, 'Save as fixture')),
      pending ? el('button', { 'data-role': 'retry-now', onclick: () => control('retry') }, 'Retry now') : null,
      pending ? el('button', { 'data-role': 'cancel-pending', onclick: () => control('cancel') }, 'Cancel pending') : null,
    ),
    editing ? await editor(d) : null,
    el('div', { class: 'sides' }, request, response),
  ];
  pane.replaceChildren(...parts.filter(Boolean));
  // Redrawn by a live delivery while another event loads: still not the one to act on.
  if (state.selected !== d.id) for (const b of pane.querySelectorAll('.actions button')) b.disabled = true;
}

function highlight(id) {
  for (const li of document.querySelectorAll('#events li')) li.classList.toggle('selected', li.dataset.id === id);
}

async function select(id, keepView) {
  state.selected = id;
  highlight(id);
  // The pane shows the previous event until this one has loaded: its actions stay off meanwhile.
  const pane = $('#detail');
  pane.setAttribute('aria-busy', 'true');
  for (const b of pane.querySelectorAll('.actions button')) b.disabled = true;
  const res = await fetch(`${API}/events/${id}`);
  // Another event was picked meanwhile: its answer decides what is shown, not this late one.
  if (state.selected !== id) return;
  if (!res.ok) {
    toast(`cannot load ${id}`);
    state.selected = state.detail?.id ?? null;
    highlight(state.selected);
    await renderDetail();
    pane.removeAttribute('aria-busy');
    return;
  }
  const detail = await res.json();
  if (state.selected !== id) return;
  state.detail = detail;
  state.body = null;
  if (!keepView) state.view = 'tree';
  const item = state.events.find((e) => e.id === id);
  if (item) item.status = state.detail.status;
  await renderDetail();
  pane.removeAttribute('aria-busy');
  document.body.classList.add('has-detail');
}

// ---- live updates ----

const TUNNEL_WORDS = { open: 'public', opening: 'opening a tunnel…', reconnecting: 'tunnel reconnecting…', 'local-only': 'local only — no tunnel yet', off: 'no tunnel (local only)' };

function renderTunnel(status) {
  state.tunnel = status;
  if (state.events.length === 0) renderCount();
  const box = $('#tunnel');
  box.dataset.state = status.state;
  box.title = status.reason ? `tunnel: ${status.reason}` : 'the public tunnel';
  const parts = [el('span', { class: 'dot' }), el('span', { 'data-role': 'tunnel-state' }, TUNNEL_WORDS[status.state] ?? status.state)];
  if (status.publicUrl && status.state !== 'local-only') {
    parts.push(el('span', { class: 'url', 'data-role': 'public-url' }, status.publicUrl));
    parts.push(
      el('button', { type: 'button', onclick: () => navigator.clipboard.writeText(status.publicUrl).then(() => toast('public URL copied'), () => toast(status.publicUrl)) }, 'copy'),
    );
  }
  box.replaceChildren(...parts);
}

function connect() {
  const live = $('#live');
  const source = new EventSource(`${API}/stream`);
  let opened = false;
  source.onopen = () => {
    live.textContent = 'live';
    live.className = 'live on';
    // Back after a gap (the listener restarted, or dropped this page for falling behind): what came meanwhile was
    // never pushed, so the list is asked for again.
    if (opened) load();
    opened = true;
  };
  source.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  };
  source.addEventListener('tunnel', (e) => renderTunnel(JSON.parse(e.data)));
  source.addEventListener('event', (e) => {
    const item = JSON.parse(e.data);
    addName(item.name);
    state.live.unshift(item);
    state.live.length = Math.min(state.live.length, 200);
    if (matchesFilters(item)) queueLive(item);
  });
  source.addEventListener('delivery', (e) => {
    const { result, status } = JSON.parse(e.data);
    const item = state.events.find((x) => x.id === result.eventId) ?? incoming.find((x) => x.id === result.eventId);
    if (item && status) {
      item.status = status;
      const pill = $(`#events li[data-id="${item.id}"] [data-role="status"]`);
      if (pill) {
        pill.textContent = status;
        pill.className = statusClass(status);
      }
    }
    if (state.detail && state.detail.id === result.eventId && !result.replay) {
      state.detail.deliveries.push(result);
      if (status) state.detail.status = status;
      if (!document.querySelector('.editor')) renderDetail();
    }
  });
}

function start() {
  fetch(`${API}/config`)
    .then((r) => r.json())
    .then((config) => {
      state.config = config;
      if (config.tunnel) return renderTunnel(config.tunnel);
      renderCount();
    })
    .catch(() => undefined);
  let typing;
  $('#filter-name').addEventListener('change', () => load());
  $('#filter-text').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => load(), 150);
  });
  $('#more').addEventListener('click', () => load(true));
  $('#back').addEventListener('click', () => document.body.classList.remove('has-detail'));
  connect();
  load();
}

start();
