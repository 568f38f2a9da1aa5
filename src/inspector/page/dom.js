// Helpers of the inspector page shared by its modules: plain DOM, no framework. Payload text only goes through textContent.
export const API = '/_webhook-listen/api';
export const $ = (sel) => document.querySelector(sel);
export const state = { events: [], next: null, total: 0, selected: null, detail: null, view: 'tree', names: new Set(), body: null, live: [] };
/** Entries of one level of the JSON tree shown before "show more". */
export const LEVEL_CAP = 200;
/** Bytes of a binary body shown per step of the hex view. */
export const HEX_STEP = 4096;

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

export function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 2500);
}

export function statusClass(status) {
  if (/^2\d\d$/.test(status)) return 'status ok';
  if (/^pending|filtered|not forwarded|^3\d\d$/.test(status)) return 'status wait';
  return 'status bad';
}

export const pad = (n) => String(n).padStart(2, '0');
/** 24-hour time as the terminal shows it, with the date when it is not today. */
export function when(iso, withSeconds = true) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '--:--:--';
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${withSeconds ? `:${pad(d.getSeconds())}` : ''}`;
  const today = new Date();
  const sameDay = d.getFullYear() === today.getFullYear() && d.getMonth() === today.getMonth() && d.getDate() === today.getDate();
  return sameDay ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function pieceNodes(pieces) {
  return pieces.filter((p) => p.role !== 'time').map((p) => el('span', { class: `p-${p.role}` }, p.text));
}

export const formatBytes = (n) => (n < 1000 ? `${n} B` : n < 999_950 ? `${(n / 1000).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`);

