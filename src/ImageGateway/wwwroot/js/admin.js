import { api } from './api.js';
import { h, empty, alertBox, pageHead, field, secretBox, confirmDialog, toast, credits, day, errorText, busy } from './ui.js';
import { userPage, defaultTiers } from './admin-user.js';

const PAGE = 25;
// The search and page survive a visit to a user's detail, so "Users" in its breadcrumb comes back to them.
const kept = { q: '', offset: 0 };

export function adminPage(main, app, path = '') {
  if (path.startsWith('users/')) return userPage(main, app, path.slice('users/'.length));
  const tiers = new Set(defaultTiers);
  let offset = kept.offset;
  let seq = 0;

  const tierSelect = (id, selected) => h('select', { id }, ...[...tiers].map((t) => h('option', { value: t, selected: t === selected }, t.replace('_', ' '))));
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off', placeholder: 'Acme Inc.' });
  const tier = tierSelect('new-user-tier', 'managed');
  const amount = h('input', { name: 'credits', type: 'number', min: 0, step: '0.001', value: 100, inputmode: 'decimal' });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'user-create' }, 'Create user');
  const created = h('div', { id: 'user-created' });
  const form = h('form', { class: 'inline-form', id: 'user-form' },
    field('new-user-name', 'Name', name), h('div', { class: 'field' }, h('label', { for: tier.id }, 'Tier'), tier), field('new-user-credits', 'Starting credits', amount), createBtn);
  const users = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const search = h('input', { type: 'search', id: 'user-search', maxlength: 200, autocomplete: 'off', placeholder: 'Name or id', value: kept.q, 'aria-label': 'Search users' });
  const total = h('span', { id: 'users-total', class: 'muted', role: 'status' });
  let timer = 0;
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { offset = 0; loadUsers(); }, 250); });
  const searchForm = h('form', { role: 'search', class: 'user-search', onsubmit: (e) => { e.preventDefault(); clearTimeout(timer); offset = 0; loadUsers(); } }, search);

  main.append(pageHead('Users', 'Accounts, their credits, tiers, keys and limits.'),
    h('section', { class: 'card' }, h('h2', {}, 'Create a user'), form, created),
    h('section', { class: 'card', 'aria-labelledby': 'users-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'users-title' }, 'Users'), total), searchForm, users));

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
    const q = search.value.trim();
    const mine = ++seq;
    kept.q = q;
    kept.offset = offset;
    try {
      // With a search, one more (tiny) call counts everyone, for "3 of 42 match".
      const [res, all] = await Promise.all([
        api(`/api/v1/admin/users?limit=${PAGE}&offset=${offset}${q ? `&q=${encodeURIComponent(q)}` : ''}`),
        q ? api('/api/v1/admin/users?limit=1') : null]);
      if (mine !== seq) return; // an older answer arriving after a newer search
      res.data.forEach((u) => tiers.add(u.tier));
      total.textContent = q ? `${res.total} of ${all.total} match` : `${res.total} user${res.total === 1 ? '' : 's'}`;
      total.dataset.total = res.total;
      renderUsers(res, q);
    } catch (err) { if (mine === seq) users.replaceChildren(alertBox('bad', 'Could not load users', errorText(err))); }
  }

  function renderUsers(res, q) {
    if (!res.data.length && offset === 0) {
      users.replaceChildren(q ? empty('users', 'No user matches', `Nobody’s name or id contains “${q}”.`) : empty('users', 'No users yet', 'Create the first one above.'));
      return;
    }
    const last = offset + res.data.length;
    const prev = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: offset === 0 }, '← Previous');
    const next = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', disabled: last >= res.total }, 'Next →');
    prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE); loadUsers(); });
    next.addEventListener('click', () => { offset += PAGE; loadUsers(); });
    users.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'users' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Id'), h('th', {}, 'Tier'), h('th', { class: 'num' }, 'Balance'), h('th', { class: 'num' }, 'Held'), h('th', {}, 'Created'), h('th', {}))),
      h('tbody', {}, res.data.map(userRow)))),
    h('div', { class: 'pager' }, h('span', { id: 'users-range' }, `${offset + 1}–${last} of ${res.total}`), h('div', { class: 'actions' }, prev, next)));
  }

  function userRow(u) {
    const grant = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Adjust credits for ${u.name}` }, 'Credits');
    const change = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Change tier for ${u.name}` }, 'Tier');
    grant.addEventListener('click', () => adjustCredits(u));
    change.addEventListener('click', () => changeTier(u));
    const href = `#/admin/users/${encodeURIComponent(u.id)}`;
    return h('tr', { 'data-user-id': u.id, class: u.suspended ? 'is-suspended' : null },
      h('td', {}, h('a', { href, class: 'user-link' }, u.name), u.suspended ? h('span', { class: 'badge badge-bad badge-after' }, 'Suspended') : null),
      h('td', {}, h('a', { href, class: 'muted', 'aria-label': `Open ${u.name}` }, h('code', {}, u.id))),
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

  loadUsers();
}
