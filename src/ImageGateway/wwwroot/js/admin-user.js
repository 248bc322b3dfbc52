import { api } from './api.js';
import { h, empty, alertBox, pageHead, field, confirmDialog, toast, credits, signed, when, day, errorText, busy, stat, entryKinds } from './ui.js';
import { keysCard } from './admin-user-keys.js';
import { limitsCard } from './admin-user-limits.js';

/** The tiers of the default configuration; a user's own tier is added, so custom tiers show too. */
export const defaultTiers = ['free', 'starter', 'professional', 'managed', 'enterprise', 'vip_founder', 'byok'];
const tierLabel = (t) => t.replace('_', ' ');
const activeKeys = (n) => (n === 1 ? '1 active key' : `${n} active keys`);

/** `#/admin/users/{id}`: one account for the operator — balance, tier, suspension, keys, limits and ledger. */
export function userPage(main, app, id) {
  const url = `/api/v1/admin/users/${encodeURIComponent(id)}`;
  const crumbName = h('span', { 'aria-current': 'page' }, id);
  const head = pageHead('User', null);
  const title = head.querySelector('h1');
  const sub = h('p', { class: 'muted user-sub' }, h('code', {}, id));
  title.after(sub);
  const stats = h('div', { class: 'stats', id: 'user-stats' });
  const account = h('section', { class: 'card', 'aria-labelledby': 'account-title' });
  const keys = keysCard(url, () => reload());
  const limits = limitsCard(url, () => reload());
  const ledger = h('section', { class: 'card', 'aria-labelledby': 'ledger-title' });
  const body = h('div', { id: 'user-detail' }, h('p', { class: 'muted' }, 'Loading…'));
  main.append(h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/admin' }, 'Users'), h('span', { 'aria-hidden': 'true' }, '/'), crumbName),
    head, body);
  let user = null;

  async function reload() {
    try {
      const [detail, overrides] = await Promise.all([api(url), api(`${url}/limits`)]);
      user = detail;
      render(overrides);
    } catch (err) {
      body.replaceChildren(err.status === 404
        ? empty('users', 'No such user', `There is no user with the id ${id}.`)
        : alertBox('bad', 'Could not load this user', errorText(err)));
    }
  }

  function render(overrides) {
    title.textContent = user.name;
    crumbName.textContent = user.name;
    document.title = `${user.name} · ImageGateway`;
    // Through h(): DOM replaceChildren would print a null as "null".
    sub.replaceChildren(h('span', {}, h('code', {}, user.id), ' · created ', day(user.created_at),
      user.suspended ? h('span', { class: 'badge badge-bad badge-after', id: 'user-suspended' }, 'Suspended') : null));
    if (!body.contains(stats)) body.replaceChildren(stats, account, keys.el, limits.el, ledger);
    renderStats();
    renderAccount();
    keys.render(user);
    limits.render(user, overrides);
    renderLedger();
  }

  function renderStats() {
    const grant = h('button', { type: 'button', class: 'btn btn-primary btn-sm', id: 'user-grant' }, 'Grant credits');
    const take = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', id: 'user-take' }, 'Take back');
    grant.addEventListener('click', () => adjust(1));
    take.addEventListener('click', () => adjust(-1));
    const m = user.limits;
    stats.replaceChildren(
      stat('Balance', h('span', { id: 'user-balance' }, credits(user.credits_remaining)),
        h('div', {}, `${credits(user.reserved)} held by running requests`, h('div', { class: 'actions stat-actions' }, grant, take))),
      stat('Tier', h('span', { id: 'user-tier-name', class: 'capitalize' }, tierLabel(user.tier)), `Price multiplier ×${m.multiplier}`),
      stat('Spent this month', h('span', { id: 'user-month-spent' }, credits(m.month_spent)),
        m.monthly_cap === null ? 'No monthly cap' : `of ${credits(m.monthly_cap)} monthly cap · ${credits(m.month_remaining)} left`),
      stat('Status', h('span', { id: 'user-status' }, user.suspended ? 'Suspended' : 'Active'),
        user.suspended ? `Since ${when(user.suspended_at)}; its keys are refused` : activeKeys(user.keys.filter((k) => k.active).length)));
  }

  async function adjust(sign) {
    const amount = h('input', { type: 'number', min: 0.001, step: '0.001', value: 100, inputmode: 'decimal', required: true });
    const reason = h('input', { maxlength: 500, placeholder: sign > 0 ? 'e.g. invoice 42' : 'e.g. refund reversed' });
    const dialogBody = h('div', {},
      h('p', {}, `Balance now ${credits(user.credits_remaining)} credits.`,
        sign < 0 ? ' Credits cannot go below zero, nor below what running requests hold.' : ''),
      field('grant-amount', sign > 0 ? 'Credits to grant' : 'Credits to take back', amount), field('grant-reason', 'Reason', reason,
        'Kept on the ledger entry the user sees.'));
    setTimeout(() => amount.select(), 0);
    if (!await confirmDialog(sign > 0 ? `Grant credits to ${user.name}` : `Take credits back from ${user.name}`, dialogBody, sign > 0 ? 'Grant' : 'Take back', sign < 0)) return;
    const value = Number(amount.value);
    if (!(value > 0)) { toast('Enter a positive number of credits.', true); return; }
    try {
      const r = await api(`${url}/credits`, { method: 'POST', body: { amount: sign * value, reason: reason.value.trim() || null } });
      toast(`${user.name} now has ${credits(r.credits_remaining)} credits`);
      if (app.account && app.account.user_id === user.id) app.refreshAccount();
      reload();
    } catch (err) { toast(errorText(err), true); }
  }

  function renderAccount() {
    const tiers = new Set([...defaultTiers, user.tier]);
    const select = h('select', { id: 'user-tier' }, [...tiers].map((t) => h('option', { value: t, selected: t === user.tier }, tierLabel(t))));
    const save = h('button', { type: 'submit', class: 'btn btn-ghost', id: 'user-tier-save' }, 'Change tier');
    const tierForm = h('form', { class: 'inline-form', id: 'user-tier-form' },
      h('div', { class: 'field' }, h('label', { for: 'user-tier' }, 'Tier'), select), save);
    tierForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (select.value === user.tier) { toast(`${user.name} is already on ${tierLabel(user.tier)}`); return; }
      busy(save, async () => {
        try {
          await api(url, { method: 'PATCH', body: { tier: select.value } });
          toast(`${user.name} is now on ${tierLabel(select.value)}`);
          reload();
        } catch (err) { toast(errorText(err), true); }
      });
    });
    const self = app.me && app.me.user_id === user.id;
    const toggle = user.suspended
      ? h('button', { type: 'button', class: 'btn btn-primary', id: 'user-unsuspend' }, 'Unsuspend')
      : h('button', { type: 'button', class: 'btn btn-danger', id: 'user-suspend', disabled: self, title: self ? 'You cannot suspend your own account' : null }, 'Suspend');
    toggle.addEventListener('click', () => suspend(!user.suspended, toggle));
    account.replaceChildren(h('h2', { id: 'account-title' }, 'Account'),
      h('div', { class: 'two' },
        h('div', {}, h('h3', {}, 'Tier'), h('p', { class: 'muted small' }, 'The tier sets the price multiplier, the rate limits and the monthly cap.'), tierForm),
        h('div', {}, h('h3', {}, 'Access'),
          h('p', { class: 'muted small' }, user.suspended
            ? `Suspended since ${when(user.suspended_at)}: every key of this account gets 403 account_suspended. Balance and data are kept.`
            : 'Suspending refuses every key of this account at once (403 account_suspended); its balance and data are kept.'),
          toggle)));
  }

  async function suspend(on, button) {
    if (on && !await confirmDialog(`Suspend ${user.name}?`,
      h('p', {}, 'Every key of this account stops working at once, running apps included, until you unsuspend it. Its balance and data are kept.'),
      'Suspend account', true)) return;
    await busy(button, async () => {
      try {
        await api(`${url}/${on ? 'suspend' : 'unsuspend'}`, { method: 'POST' });
        toast(on ? `${user.name} is suspended` : `${user.name} can use the gateway again`);
        await reload();
      } catch (err) { toast(errorText(err), true); }
    });
  }

  function renderLedger() {
    const head = h('div', { class: 'card-head' }, h('h2', { id: 'ledger-title' }, 'Ledger'), h('span', { class: 'muted small' }, 'The 20 newest entries'));
    if (!user.recent_transactions.length) { ledger.replaceChildren(head, empty('list', 'No ledger entries yet')); return; }
    ledger.replaceChildren(head, h('div', { class: 'table-wrap' }, h('table', { id: 'user-ledger' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Date'), h('th', {}, 'Type'), h('th', {}, 'Details'), h('th', { class: 'num' }, 'Amount'), h('th', { class: 'num' }, 'Hold'), h('th', { class: 'num' }, 'Balance'))),
      h('tbody', {}, user.recent_transactions.map((t) => {
        const [label, cls] = entryKinds[t.type] || [t.type, 'badge-muted'];
        return h('tr', { 'data-type': t.type },
          h('td', { class: 'nowrap' }, when(t.created_at)),
          h('td', {}, h('span', { class: `badge ${cls}` }, label)),
          h('td', { class: 'ledger-detail' }, t.description || h('span', { class: 'muted' }, '—')),
          h('td', { class: `num ${t.amount > 0 ? 'pos' : 'neg'}` }, t.amount ? signed(t.amount) : h('span', { class: 'muted' }, '0')),
          h('td', { class: 'num muted' }, t.hold ? signed(t.hold) : ''),
          h('td', { class: 'num' }, credits(t.balance_after)));
      })))));
  }

  reload();
}
