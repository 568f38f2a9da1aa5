// The inspector page: plain DOM, no framework, no CDN. Payload text only ever goes through textContent.
const API = '/_webhook-listen/api';
const $ = (sel) => document.querySelector(sel);
const state = { events: [], selected: null, detail: null, view: 'tree', names: new Set() };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 2500);
}

function statusClass(status) {
  if (/^[23]\d\d$/.test(status)) return 'status ok';
  if (/^pending|filtered|not forwarded/.test(status)) return 'status wait';
  return 'status bad';
}

function pieceNodes(pieces) {
  return pieces.filter((p) => p.role !== 'time').map((p) => el('span', { class: `p-${p.role}` }, p.text));
}

function matches(item) {
  const name = $('#filter-name').value;
  if (name && item.name !== name) return false;
  const q = $('#filter-text').value.trim().toLowerCase();
  if (!q) return true;
  return `${item.text} ${item.id} ${item.path} ${item.status}`.toLowerCase().includes(q);
}

function row(item) {
  const li = el(
    'li',
    { 'data-id': item.id, class: item.id === state.selected ? 'selected' : '', onclick: () => select(item.id) },
    el('span', { class: 'time' }, new Date(item.receivedAt).toLocaleTimeString()),
    el('span', { class: 'line' }, pieceNodes(item.pieces)),
    el('span', { class: statusClass(item.status), 'data-role': 'status' }, item.status),
    el('span', { class: 'sub' }, `${item.method} ${item.path} · ${item.id.slice(0, 10)}`),
  );
  return li;
}

function renderList() {
  const list = $('#events');
  const shown = state.events.filter(matches);
  list.replaceChildren(...shown.map(row));
  $('#empty').hidden = state.events.length > 0;
  $('#count').textContent = shown.length === state.events.length ? `${state.events.length} events` : `${shown.length} of ${state.events.length}`;
}

function addName(name) {
  if (!name || state.names.has(name)) return;
  state.names.add(name);
  $('#filter-name').append(el('option', { value: name }, name));
}

// ---- the JSON tree: <details> nodes, children built only when opened so huge bodies stay cheap ----

function leaf(value) {
  if (typeof value === 'string') return el('span', { class: 'j-str' }, JSON.stringify(value));
  if (typeof value === 'number') return el('span', { class: 'j-num' }, String(value));
  return el('span', { class: 'j-lit' }, String(value));
}

function treeNode(key, value, open) {
  const label = key === null ? [] : [el('span', { class: 'j-key' }, key), ': '];
  if (value === null || typeof value !== 'object') return el('div', { class: 'row' }, ...label, leaf(value));
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const brief = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  const details = el('details', open ? { open: true } : {}, el('summary', {}, ...label, el('span', { class: 'muted' }, brief)));
  const fill = () => {
    if (details.dataset.filled) return;
    details.dataset.filled = '1';
    for (const [k, v] of entries) details.append(treeNode(Array.isArray(value) ? k : JSON.stringify(k).slice(1, -1), v, false));
  };
  if (open) fill();
  details.addEventListener('toggle', fill);
  return details;
}

function openAll(root, depth) {
  for (const d of root.querySelectorAll(':scope > details')) {
    if (depth <= 0) continue;
    d.open = true;
    openAll(d, depth - 1);
  }
}

// ---- the detail pane ----

function bodyView(d) {
  const hasTree = d.bodyJson !== undefined;
  const view = hasTree ? state.view : 'raw';
  const tabs = el(
    'div',
    { class: 'tabs' },
    hasTree && el('button', { 'aria-pressed': String(view === 'tree'), onclick: () => ((state.view = 'tree'), renderDetail()) }, 'tree'),
    el('button', { 'aria-pressed': String(view === 'raw'), onclick: () => ((state.view = 'raw'), renderDetail()) }, 'raw'),
  );
  let content;
  if (view === 'tree') {
    content = el('div', { class: 'tree', 'data-role': 'tree' }, treeNode(null, d.bodyJson, true));
    openAll(content, 3);
  } else if (d.bodyText !== undefined) content = el('pre', { 'data-role': 'raw' }, d.bodyText || '(empty body)');
  else content = el('pre', { 'data-role': 'raw' }, `(${d.size} bytes, ${d.kind}) base64:\n${d.bodyBase64}`);
  return [tabs, content];
}

function deliveriesTable(d) {
  if (!d.deliveries.length) return el('p', { class: 'muted' }, d.targets.length ? 'pending…' : 'not forwarded (no --forward-to)');
  return el(
    'table',
    { 'data-role': 'deliveries' },
    el('tr', {}, el('th', {}, 'result'), el('th', {}, 'target'), el('th', {}, 'time'), el('th', {}, 'attempt'), el('th', {}, '')),
    d.deliveries.map((r) =>
      el(
        'tr',
        {},
        el('td', {}, el('span', { class: statusClass(String(r.status ?? r.error)) }, String(r.status ?? r.error))),
        el(
          'td',
          { class: 'v' },
          `${r.method} ${r.url}`,
          r.message ? el('div', { class: 'muted' }, r.message) : null,
          // What the app answered: the first line here, the whole of it (first 64 KB) on opening.
          r.response?.body ? answerNode(r.response) : null,
        ),
        el('td', {}, `${r.durationMs} ms`),
        el('td', {}, String(r.attempt), r.final ? '' : ' (retrying)'),
        el('td', { class: 'muted' }, r.replay ? (r.edited ? 'edited replay' : 'replay') : ''),
      ),
    ),
  );
}

function answerNode(response) {
  const first = response.body.split('\n').find((l) => l.trim()) ?? '';
  const box = el('details', { class: 'answer', 'data-role': 'answer' }, el('summary', {}, first.slice(0, 200)), el('pre', {}, response.body));
  if (response.truncated) box.append(el('div', { class: 'muted' }, `${response.size} bytes in all; the first 64 KB kept`));
  return box;
}

async function control(action) {
  const res = await fetch(`${API}/events/${state.selected}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const out = await res.json();
  if (!res.ok) return toast(out.error ?? `${action} failed (${res.status})`);
  toast(action === 'cancel' ? `gave up on ${out.count} waiting ${out.count === 1 ? 'delivery' : 'deliveries'}` : `retrying ${out.count} now`);
  setTimeout(() => select(state.selected, true), 1500);
}

async function replay(payload) {
  const res = await fetch(`${API}/events/${state.selected}/replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload ?? {}),
  });
  const out = await res.json();
  if (!res.ok) return toast(out.error ?? `replay failed (${res.status})`);
  const r = out.results.map((x) => x.status ?? x.error).join(', ');
  toast(`replayed → ${r}`);
  await select(state.selected, true);
}

function editor(d) {
  const headersText = d.headers.map(([k, v]) => `${k}: ${v}`).join('\n');
  const body = el('textarea', { rows: 14, 'data-role': 'edit-body' });
  body.value = d.bodyJson !== undefined ? JSON.stringify(d.bodyJson, null, 2) : (d.bodyText ?? '');
  const headers = el('textarea', { rows: 6, 'data-role': 'edit-headers' });
  headers.value = headersText;
  const send = () => {
    const pairs = headers.value
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
      })
      .filter(([k]) => k);
    replay({ body: body.value, headers: pairs });
  };
  return el(
    'div',
    { class: 'editor' },
    el('h3', {}, 'Edit and replay'),
    el('label', {}, 'Headers (one per line: Name: value)'),
    headers,
    el('label', {}, 'Body'),
    body,
    el('div', { class: 'actions' }, el('button', { class: 'primary', onclick: send, 'data-role': 'send-edited' }, 'Send edited'), el('button', { onclick: () => renderDetail() }, 'Cancel')),
  );
}

function renderDetail(editing = false) {
  const pane = $('#detail');
  const d = state.detail;
  if (!d) return;
  const parts = [
    el('h2', {}, pieceNodes(d.pieces)),
    el(
      'div',
      { class: 'meta' },
      el('span', {}, el('span', { class: 'mono' }, `${d.method} ${d.url}`)),
      el('span', {}, new Date(d.receivedAt).toLocaleString()),
      el('span', {}, `${d.size} bytes · ${d.kind}${d.encoding ? ` (${d.encoding})` : ''}`),
      el('span', {}, `from ${d.remoteAddress || 'unknown'}`),
      el('span', { class: 'mono' }, d.id),
    ),
    el(
      'div',
      { class: 'actions' },
      el('button', { class: 'primary', 'data-role': 'replay', onclick: () => replay() }, 'Replay'),
      el('button', { 'data-role': 'edit', onclick: () => renderDetail(true) }, 'Edit and replay'),
      el('button', { 'data-role': 'curl', onclick: () => copy(d.curl, 'cURL command copied') }, 'Copy as cURL'),
      el('a', { href: `${API}/events/${d.id}/raw`, download: '' }, el('button', { tabindex: -1 }, 'Save as fixture')),
      /pending/.test(d.status) ? el('button', { 'data-role': 'retry-now', onclick: () => control('retry') }, 'Retry now') : null,
      /pending/.test(d.status) ? el('button', { 'data-role': 'cancel-pending', onclick: () => control('cancel') }, 'Cancel pending') : null,
    ),
    editing ? editor(d) : null,
    el('h3', {}, 'Deliveries'),
    deliveriesTable(d),
    el('h3', {}, 'Body'),
    ...bodyView(d),
    el('h3', {}, `Headers (${d.headers.length})`),
    el('table', { 'data-role': 'headers' }, d.headers.map(([k, v]) => el('tr', {}, el('td', { class: 'k' }, k), el('td', { class: 'v' }, v)))),
  ];
  pane.replaceChildren(...parts.filter(Boolean));
}

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    toast(done);
  } catch {
    // Clipboard access can be refused (http, permissions): show it to copy by hand.
    state.detail.curlShown = true;
    $('#detail').prepend(el('pre', { 'data-role': 'curl-text' }, text));
  }
}

async function select(id, keepView) {
  state.selected = id;
  for (const li of document.querySelectorAll('#events li')) li.classList.toggle('selected', li.dataset.id === id);
  const res = await fetch(`${API}/events/${id}`);
  if (!res.ok) return toast(`cannot load ${id}`);
  state.detail = await res.json();
  if (!keepView) state.view = 'tree';
  const item = state.events.find((e) => e.id === id);
  if (item) item.status = state.detail.status;
  renderDetail();
}

// ---- live updates ----

const TUNNEL_WORDS = { open: 'public', opening: 'opening a tunnel…', reconnecting: 'tunnel reconnecting…', 'local-only': 'local only — no tunnel yet', off: 'no tunnel (local only)' };

function renderTunnel(status) {
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
  source.onopen = () => {
    live.textContent = 'live';
    live.className = 'live on';
  };
  source.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  };
  source.addEventListener('tunnel', (e) => renderTunnel(JSON.parse(e.data)));
  source.addEventListener('event', (e) => {
    const item = JSON.parse(e.data);
    state.events.unshift(item);
    addName(item.name);
    renderList();
    $(`#events li[data-id="${item.id}"]`)?.classList.add('fresh');
  });
  source.addEventListener('delivery', (e) => {
    const { result, status } = JSON.parse(e.data);
    const item = state.events.find((x) => x.id === result.eventId);
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

async function start() {
  $('#filter-name').addEventListener('change', renderList);
  $('#filter-text').addEventListener('input', renderList);
  connect();
  const res = await fetch(`${API}/events`);
  const { events } = await res.json();
  // Events that arrived over the stream while history loaded stay first; no duplicates.
  const seen = new Set(state.events.map((e) => e.id));
  state.events.push(...events.filter((e) => !seen.has(e.id)));
  for (const e of state.events) addName(e.name);
  renderList();
}

start();
