// Small DOM helpers: build elements without innerHTML so nothing from the API is ever parsed as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

const icons = {
  image: 'M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4 M15 9.5a1.5 1.5 0 1 0 0-.01',
  list: 'M8 6h12 M8 12h12 M8 18h12 M4 6h.01 M4 12h.01 M4 18h.01',
  key: 'M14 10a4 4 0 1 1-1.2-2.8L21 7v3h-3v3h-3l-1.2-1.2',
  users: 'M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1 M9.5 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7 M21 19v-1a4 4 0 0 0-3-3.9 M16 3.1a3.5 3.5 0 0 1 0 6.8',
  chart: 'M4 19V9 M10 19V5 M16 19v-7 M22 19H2',
};

export function empty(icon, title, text) {
  return h('div', { class: 'empty' },
    svg('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true' }, svg('path', { d: icons[icon] || icons.list, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' })),
    h('strong', {}, title), text ? h('div', { class: 'small' }, text) : null);
}

export function alertBox(kind, title, ...body) {
  return h('div', { class: `alert alert-${kind}`, role: kind === 'bad' ? 'alert' : 'status' }, title ? h('strong', {}, title) : null, ...body);
}

export function toast(message, bad = false) {
  const el = h('div', { class: `toast${bad ? ' bad' : ''}` }, message);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), 4000);
}

const number = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 3 });
export const credits = (value) => value === null || value === undefined ? '—' : number.format(value);
export const signed = (value) => (value > 0 ? '+' : value < 0 ? '−' : '') + credits(Math.abs(value));

const dateTime = new Intl.DateTimeFormat('en-GB', { day: '2-digit', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const dateOnly = new Intl.DateTimeFormat('en-GB', { day: '2-digit', month: 'short', year: 'numeric' });
export const when = (unix) => unix ? dateTime.format(new Date(unix * 1000)) : '—';
export const day = (unix) => unix ? dateOnly.format(new Date(unix * 1000)) : '—';

/** "in 4 min 10 s" style durations for countdowns and retry hints. */
export function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  const hrs = Math.floor(seconds / 3600), min = Math.floor((seconds % 3600) / 60), sec = seconds % 60;
  if (hrs) return `${hrs} h ${String(min).padStart(2, '0')} min`;
  if (min) return `${min} min ${String(sec).padStart(2, '0')} s`;
  return `${sec} s`;
}

/** Resolves true when the user confirms in the modal dialog; Esc or Cancel resolve false. */
export function confirmDialog(title, body, okLabel = 'Confirm', danger = false) {
  const dialog = document.getElementById('confirm');
  dialog.querySelector('#confirm-title').textContent = title;
  const bodyEl = dialog.querySelector('#confirm-body');
  bodyEl.replaceChildren(typeof body === 'string' ? h('p', {}, body) : body);
  const ok = dialog.querySelector('#confirm-ok');
  ok.textContent = okLabel;
  ok.className = `btn ${danger ? 'btn-danger' : 'btn-primary'}`;
  dialog.returnValue = '';
  dialog.showModal();
  // A destructive action never goes through on a stray Enter: focus starts on Cancel.
  if (danger) dialog.querySelector('#confirm-cancel').focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

export async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API needs a secure context; fall back to a selection copy on plain http.
    const area = h('textarea', { class: 'offscreen', 'aria-hidden': 'true', tabindex: -1 });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  if (button) {
    const label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = label; }, 1500);
  }
}

/**
 * Whether an image (img, bitmap or canvas) has a pixel that is not fully opaque. Only such an image
 * gets the transparency checkerboard behind it. One that cannot be read (another origin) counts as opaque.
 */
export function hasAlpha(image) {
  try {
    const width = Math.min(512, image.naturalWidth || image.width), height = Math.min(512, image.naturalHeight || image.height);
    if (!width || !height) return false;
    const canvas = h('canvas', { width, height });
    const g = canvas.getContext('2d', { willReadFrequently: true });
    g.drawImage(image, 0, 0, width, height);
    const data = g.getImageData(0, 0, width, height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] < 255) return true;
  } catch { /* tainted canvas: nothing to read */ }
  return false;
}

const qualityNames = { hd: 'HD', standard: 'Standard', low: 'Low', medium: 'Medium', high: 'High', auto: 'Auto' };
/** A quality as people write it: "HD", not "Hd". */
export const qualityLabel = (q) => qualityNames[q] || (q ? q[0].toUpperCase() + q.slice(1) : '');

export function secretBox(value, label) {
  const btn = h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Copy ${label}` }, 'Copy');
  btn.addEventListener('click', () => copy(value, btn));
  return h('div', { class: 'secret' }, h('code', { 'data-testid': 'secret' }, value), btn);
}

/** A figure card of the stats row: label, value (its element gets `id` when given) and a line under it. */
export function stat(label, value, sub, id) {
  return h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value', id }, value), h('div', { class: 'sub' }, sub));
}

/** Ledger entry types as the ledger tables label them: [label, badge class]. */
export const entryKinds = {
  grant: ['Credit', 'badge-ok'], purchase: ['Purchase', 'badge-ok'], adjustment: ['Adjustment', 'badge-warn'],
  reserve: ['Hold', 'badge-muted'], settle: ['Charge', ''], release: ['Released', 'badge-muted'],
  expire_hold: ['Hold expired', 'badge-warn'], write_off: ['Written off', 'badge-bad'],
};

/** A request's outcome in the history and activity lists: [label, badge class]. */
export const outcomes = { succeeded: ['Succeeded', 'badge-ok'], failed: ['Failed', 'badge-bad'], refused: ['Refused', 'badge-warn'] };

export function pageHead(title, text, ...extra) {
  return h('div', { class: 'page-head' }, h('div', {}, h('h1', { tabindex: -1 }, title), text ? h('p', {}, text) : null), ...extra);
}

export function field(id, label, control, hint) {
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('div', { class: 'hint' }, hint) : null);
}

export function errorText(error) {
  if (error && error.status === 0) return 'Could not reach the gateway. Check your connection and try again.';
  return (error && error.message) || 'Something went wrong.';
}

/** Sets a button's busy state while a promise runs. */
export async function busy(button, work) {
  button.disabled = true;
  try { return await work(); } finally { button.disabled = false; }
}
