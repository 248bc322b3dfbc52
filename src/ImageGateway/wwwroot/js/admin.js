import { api } from './api.js';
import { h, empty, alertBox, pageHead, field, secretBox, confirmDialog, toast, credits, day, when, errorText, busy } from './ui.js';

// The tiers of the default configuration; tiers seen on users are added, so custom tiers show too.
const defaultTiers = ['free', 'starter', 'professional', 'managed', 'enterprise', 'vip_founder', 'byok'];
const PAGE = 25;

export function adminPage(main, app) {
  const tiers = new Set(defaultTiers);
  let offset = 0;

  const tierSelect = (id, selected) => h('select', { id }, ...[...tiers].map((t) => h('option', { value: t, selected: t === selected }, t.replace('_', ' '))));
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off', placeholder: 'Acme Inc.' });
  const tier = tierSelect('new-user-tier', 'managed');
  const amount = h('input', { name: 'credits', type: 'number', min: 0, step: '0.001', value: 100, inputmode: 'decimal' });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'user-create' }, 'Create user');
  const created = h('div', { id: 'user-created' });
  const form = h('form', { class: 'inline-form', id: 'user-form' },
    field('new-user-name', 'Name', name), h('div', { class: 'field' }, h('label', { for: tier.id }, 'Tier'), tier), field('new-user-credits', 'Starting credits', amount), createBtn);
  const users = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const health = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));

  main.append(pageHead('Admin', 'Accounts, credits and the health of your upstream providers.'),
    h('section', { class: 'card' }, h('h2', {}, 'Create a user'), form, created),
    h('section', { class: 'card', 'aria-labelledby': 'users-title' }, h('div', { class: 'card-head' }, h('h2', { id: 'users-title' }, 'Users')), users),
    h('section', { class: 'card', 'aria-labelledby': 'providers-title' }, h('div', { class: 'card-head' }, h('h2', { id: 'providers-title' }, 'Provider health'),
      refreshButton()), health));

  function refreshButton() {
    const b = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, 'Refresh');
    b.addEventListener('click', () => busy(b, loadProviders));
    return b;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!name.value.trim()) { created.replaceChildren(alertBox('bad', null, 'Give the user a name.')); name.focus(); return; }
    busy(createBtn, async () => {
      try {
        const u = await api('/api/v1/admin/users', { method: 'POST', body: { name: name.value.trim(), tier: tier.value, credits: Number(amount.value || 0) } });
        created.replaceChildren(alertBox('ok', `${u.name} was created with ${credits(u.credits_remaining)} credits`,
          'Hand this first API key to the user. It is shown only this once.', secretBox(u.api_key, 'the user’s API key')));
        name.value = '';
        offset = 0;
        loadUsers();
      } catch (err) { created.replaceChildren(alertBox('bad', 'Could not create the user', errorText(err))); }
    });
  });

  async function loadUsers() {
    try {
      const res = await api(`/api/v1/admin/users?limit=${PAGE}&offset=${offset}`);
      res.data.forEach((u) => tiers.add(u.tier));
      renderUsers(res);
    } catch (err) { users.replaceChildren(alertBox('bad', 'Could not load users', errorText(err))); }
  }

  function renderUsers(res) {
    if (!res.data.length && offset === 0) { users.replaceChildren(empty('users', 'No users yet', 'Create the first one above.')); return; }
    const prev = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: offset === 0 }, '← Previous');
    const next = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: res.data.length < PAGE }, 'Next →');
    prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE); loadUsers(); });
    next.addEventListener('click', () => { offset += PAGE; loadUsers(); });
    users.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'users' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Id'), h('th', {}, 'Tier'), h('th', { class: 'num' }, 'Balance'), h('th', { class: 'num' }, 'Held'), h('th', {}, 'Created'), h('th', {}))),
      h('tbody', {}, res.data.map(userRow)))),
    h('div', { class: 'pager' }, h('span', {}, `${offset + 1}–${offset + res.data.length}`), h('div', { class: 'actions' }, prev, next)));
  }

  function userRow(u) {
    const grant = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Adjust credits for ${u.name}` }, 'Credits');
    const change = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Change tier for ${u.name}` }, 'Tier');
    grant.addEventListener('click', () => adjustCredits(u));
    change.addEventListener('click', () => changeTier(u));
    return h('tr', { 'data-user-id': u.id },
      h('td', {}, u.name), h('td', {}, h('code', {}, u.id)),
      h('td', {}, h('span', { class: 'badge' }, u.tier.replace('_', ' '))),
      h('td', { class: 'num user-balance' }, credits(u.credits_remaining)),
      h('td', { class: 'num muted' }, u.reserved ? credits(u.reserved) : '—'),
      h('td', {}, day(u.created_at)),
      h('td', { class: 'num' }, h('div', { class: 'actions actions-end' }, grant, change)));
  }

  async function adjustCredits(u) {
    const value = h('input', { id: 'grant-amount', type: 'number', step: '0.001', value: 100, inputmode: 'decimal', required: true });
    const reason = h('input', { id: 'grant-reason', maxlength: 200, placeholder: 'e.g. invoice 42' });
    const body = h('div', {}, h('p', {}, `Balance now ${credits(u.credits_remaining)} credits. Use a negative amount to take credits back (not below zero).`),
      field('grant-amount', 'Amount', value), field('grant-reason', 'Reason', reason));
    setTimeout(() => value.select(), 0);
    if (!await confirmDialog(`Adjust credits for ${u.name}`, body, 'Apply')) return;
    try {
      const r = await api(`/api/v1/admin/users/${encodeURIComponent(u.id)}/credits`, { method: 'POST', body: { amount: Number(value.value), reason: reason.value.trim() || null } });
      toast(`${u.name} now has ${credits(r.credits_remaining)} credits`);
      loadUsers();
      if (app.account && app.account.user_id === u.id) app.refreshAccount();
    } catch (err) { toast(errorText(err), true); }
  }

  async function changeTier(u) {
    const select = tierSelect('tier-select', u.tier);
    const body = h('div', {}, h('p', {}, 'The tier sets the price multiplier, rate limits and monthly cap.'), h('div', { class: 'field' }, h('label', { for: select.id }, 'Tier'), select));
    setTimeout(() => select.focus(), 0);
    if (!await confirmDialog(`Change tier for ${u.name}`, body, 'Change tier')) return;
    try {
      await api(`/api/v1/admin/users/${encodeURIComponent(u.id)}`, { method: 'PATCH', body: { tier: select.value } });
      toast(`${u.name} is now on ${select.value.replace('_', ' ')}`);
      loadUsers();
    } catch (err) { toast(errorText(err), true); }
  }

  async function loadProviders() {
    try {
      const res = await api('/api/v1/admin/providers');
      if (!res.data.length) { health.replaceChildren(empty('list', 'No providers configured')); return; }
      const circuit = { closed: ['Healthy', 'badge-ok'], open: ['Circuit open', 'badge-bad'], half_open: ['Recovering', 'badge-warn'], isolated: ['Isolated', 'badge-bad'] };
      health.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'providers' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Provider'), h('th', {}, 'Kind'), h('th', {}, 'Key'), h('th', {}, 'State'), h('th', {}, 'Recent failures'))),
        h('tbody', {}, res.data.map((p) => {
          // The circuit's state wins: a provider without a platform key can still be failing.
          const [label, cls] = p.circuit !== 'closed' ? circuit[p.circuit] || [p.circuit, 'badge-muted']
            : !p.configured ? ['Not configured', 'badge-muted'] : circuit.closed;
          const last = p.recent_failures[p.recent_failures.length - 1];
          return h('tr', { 'data-provider': p.name },
            h('td', {}, h('strong', {}, p.name), p.base_url ? h('div', { class: 'muted small' }, p.base_url) : null),
            h('td', {}, p.kind),
            h('td', {}, p.configured ? 'Configured' : h('span', { class: 'muted' }, 'Missing')),
            h('td', {}, h('span', { class: `badge ${cls}` }, label)),
            h('td', {}, p.recent_failures.length ? h('span', { title: last.reason }, `${p.recent_failures.length} · last ${when(last.at)}: ${last.reason}`) : h('span', { class: 'muted' }, 'None')));
        })))));
    } catch (err) { health.replaceChildren(alertBox('bad', 'Could not load provider health', errorText(err))); }
  }

  loadUsers();
  loadProviders();
}
