import { api } from './api.js';
import { h, alertBox, toast, credits, when, errorText, busy } from './ui.js';

const windows = [
  ['per_minute', 'minute', 'Images a minute'], ['per_hour', 'hour', 'Images an hour'],
  ['per_day', 'day', 'Images a day'], ['per_month', 'month', 'Images a month'],
];

/**
 * The user detail's limits editor (PUT …/limits): an override per window and for the monthly cap.
 * An empty field follows the tier; 0 is unlimited (for the cap: no cap). Beside each, what is in
 * effect and what the account has used of it now.
 */
export function limitsCard(userUrl, changed) {
  const el = h('section', { class: 'card', 'aria-labelledby': 'limits-title' });
  const message = h('div', { id: 'limits-message' });
  let user = null;

  function render(detail, limits) {
    user = detail;
    const status = detail.limits;
    const used = Object.fromEntries(status.windows.map((w) => [w.window, w]));
    const inputs = {};
    const input = (key, value, label, decimals) => {
      const i = h('input', { id: `limit-${key}`, type: 'number', min: 0, step: decimals ? '0.001' : '1', inputmode: decimals ? 'decimal' : 'numeric',
        placeholder: 'Tier’s', 'aria-label': `${label} override`, class: 'limit-input' });
      i.value = value === null || value === undefined ? '' : String(value);
      inputs[key] = i;
      return i;
    };
    const rows = windows.map(([key, win, label]) => {
      const eff = limits.effective[key];
      const w = used[win];
      return h('tr', { 'data-limit': key },
        h('th', { scope: 'row' }, label),
        h('td', {}, input(key, limits.overrides[key], label, false)),
        h('td', { class: 'num effective' }, eff ? String(eff) : 'Unlimited'),
        h('td', { class: 'num used' }, w && w.limit !== null ? `${w.used} of ${w.limit}` : w && w.used !== null ? String(w.used) : '—',
          w && w.limit !== null ? h('div', { class: 'muted small' }, `frees ${when(w.resets_at)}`) : null));
    });
    const cap = limits.effective.monthly_cap;
    rows.push(h('tr', { 'data-limit': 'monthly_cap' },
      h('th', { scope: 'row' }, 'Monthly credit cap'),
      h('td', {}, input('monthly_cap', limits.overrides.monthly_cap, 'Monthly credit cap', true)),
      h('td', { class: 'num effective' }, cap === null ? 'No cap' : credits(cap)),
      h('td', { class: 'num used' }, `${credits(status.month_spent)} spent`,
        status.reserved ? h('div', { class: 'muted small' }, `+ ${credits(status.reserved)} held`) : null)));

    const save = h('button', { type: 'submit', class: 'btn btn-primary', id: 'limits-save' }, 'Save limits');
    const reset = h('button', { type: 'button', class: 'btn btn-ghost', id: 'limits-reset', disabled: !status.customized }, 'Use the tier’s limits');
    const form = h('form', { id: 'limits-form', novalidate: true },
      h('div', { class: 'table-wrap' }, h('table', { id: 'user-limits', class: 'limits-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Limit'), h('th', {}, 'Override'), h('th', { class: 'num' }, 'In effect'), h('th', { class: 'num' }, 'Used now'))),
        h('tbody', {}, rows))),
      h('p', { class: 'hint' }, 'Leave a field empty to follow the tier. 0 means unlimited; a monthly cap of 0 means no cap. Limits count images.'),
      h('div', { class: 'actions' }, save, reset));
    form.addEventListener('submit', (e) => { e.preventDefault(); send(save, collect(inputs)); });
    reset.addEventListener('click', () => send(reset, {}));
    el.replaceChildren(h('div', { class: 'card-head' }, h('h2', { id: 'limits-title' }, 'Limits'),
      h('span', { class: `badge ${status.customized ? 'badge-warn' : 'badge-muted'}`, id: 'limits-kind' }, status.customized ? 'Custom for this user' : `The ${user.tier.replace('_', ' ')} tier’s`)),
    form, message);
  }

  /** The request body, or null (with the field marked) when a value is not a valid number. */
  function collect(inputs) {
    const body = {};
    for (const [key, i] of Object.entries(inputs)) {
      i.removeAttribute('aria-invalid');
      const text = i.value.trim();
      if (!text) { body[key] = null; continue; }
      const value = Number(text);
      const whole = key !== 'monthly_cap';
      if (!Number.isFinite(value) || value < 0 || (whole && !Number.isInteger(value))) {
        i.setAttribute('aria-invalid', 'true');
        i.focus();
        message.replaceChildren(alertBox('bad', 'Check the limits', whole ? 'A window limit is a whole number of images, 0 or more.' : 'The monthly cap is a number of credits, 0 or more.'));
        return null;
      }
      body[key] = value;
    }
    return body;
  }

  function send(button, body) {
    if (!body) return;
    busy(button, async () => {
      try {
        await api(`${userUrl}/limits`, { method: 'PUT', body });
        message.replaceChildren();
        toast(Object.values(body).some((v) => v !== null) ? `Limits saved for ${user.name}` : `${user.name} follows the tier’s limits again`);
        changed();
      } catch (err) { message.replaceChildren(alertBox('bad', 'Could not save the limits', errorText(err))); }
    });
  }

  return { el, render };
}
