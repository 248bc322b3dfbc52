import { api } from './api.js';
import { h, alertBox, pageHead, credits, when, duration, errorText, stat } from './ui.js';
import { spendCard } from './usage-spend.js';
import { activityCard } from './usage-activity.js';

/**
 * Usage & limits: the balance, what the tier allows and what is left of it, spend per day by
 * model, and every request with its outcome. The Hold/Charge ledger is one click away (#/ledger).
 */
export function usagePage(main, app) {
  const stats = h('div', { class: 'stats' });
  const limitsCard = h('section', { class: 'card', id: 'limits', 'aria-labelledby': 'limits-title' });
  const ledgerLink = h('a', { href: '#/ledger', class: 'btn btn-ghost', id: 'ledger-link' }, 'View the ledger');
  const spend = spendCard();
  const activity = activityCard();
  main.append(pageHead('Usage & limits', 'Your balance, what your plan allows, what you spent and every request.', ledgerLink),
    stats, limitsCard, spend.el, activity.el);

  loadStats(app, stats);
  loadLimits(limitsCard);
  spend.load();
  activity.load();
  return () => { spend.abort(); activity.abort(); };
}

/** Balance, tier and this month's spend, from /llm/credits (the same call the header uses). */
export async function loadStats(app, stats) {
  const c = await app.refreshAccount();
  if (!c) { stats.replaceChildren(alertBox('bad', 'Could not load your balance', 'Try again in a moment.')); return; }
  const cap = c.monthly_cap;
  const used = cap ? Math.min(100, (c.monthly_spent / cap) * 100) : 0;
  stats.replaceChildren(
    stat('Balance', h('span', { id: 'credits-balance' }, credits(c.credits_remaining)), `${credits(c.available)} available · ${credits(c.reserved)} held`),
    stat('Tier', h('span', { id: 'credits-tier', class: 'capitalize' }, c.tier.replace('_', ' ')), 'Sets your price multiplier and limits'),
    stat('Spent this month', h('span', { id: 'credits-spent' }, credits(c.monthly_spent)),
      cap ? h('div', {}, `of ${credits(cap)} monthly cap`, meter(used, 'Monthly cap used')) : 'No monthly cap on your plan'));
}

/** A used/limit bar. The width is set through the CSSOM: the console's CSP refuses style attributes. */
export function meter(percent, label) {
  const fill = h('span');
  fill.style.width = `${Math.max(0, Math.min(100, percent))}%`;
  return h('div', { class: `meter${percent >= 100 ? ' full' : percent >= 80 ? ' high' : ''}`, role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100,
    'aria-valuenow': Math.round(percent), 'aria-label': label }, fill);
}

const windowNames = { minute: 'Per minute', hour: 'Per hour', day: 'Per day', month: 'Per month' };
const images = (n) => `${n} image${n === 1 ? '' : 's'}`;

function resetsIn(unix) {
  const seconds = unix - Date.now() / 1000;
  return seconds < 86400 ? `resets in ${duration(seconds)}` : `resets ${when(unix)}`;
}

async function loadLimits(card) {
  const head = h('div', { class: 'card-head' }, h('h2', { id: 'limits-title' }, 'Your limits'));
  card.replaceChildren(head, h('p', { class: 'muted' }, 'Loading…'));
  let l;
  try { l = await api('/api/v1/limits'); } catch (err) {
    card.replaceChildren(head, alertBox('bad', 'Could not load your limits', errorText(err)));
    return;
  }
  head.append(h('div', { class: 'usage-tags' },
    h('span', { class: 'badge', id: 'limits-tier' }, h('span', { class: 'capitalize' }, l.tier.replace('_', ' ')), ' tier'),
    h('span', { class: 'badge badge-muted', id: 'limits-multiplier', title: 'Base prices are multiplied by this' }, `×${l.multiplier} price`),
    l.customized ? h('span', { class: 'badge badge-warn' }, 'Set for your account') : null));
  const rows = l.windows.map((w) => {
    const unlimited = w.limit === null || w.limit === undefined;
    const percent = unlimited ? 0 : w.limit ? (w.used / w.limit) * 100 : 100;
    return h('div', { class: 'usage-limit', 'data-window': w.window },
      h('div', { class: 'usage-limit-head' }, h('strong', {}, windowNames[w.window] || w.window),
        h('span', { class: 'usage-limit-value' }, unlimited ? 'Unlimited' : `${w.used}/${w.limit} images`)),
      unlimited ? h('div', { class: 'small muted' }, 'No limit on images in this window')
        : [meter(percent, `${windowNames[w.window] || w.window}: ${w.used} of ${w.limit} images used`),
          h('div', { class: 'small muted' }, `${images(w.remaining)} left · ${resetsIn(w.resets_at)}`)]);
  });
  const cap = l.monthly_cap;
  const capUsed = cap ? ((l.month_spent + l.reserved) / cap) * 100 : 0;
  const capBox = h('div', { class: 'usage-limit', 'data-window': 'cap' },
    h('div', { class: 'usage-limit-head' }, h('strong', {}, 'Monthly credit cap'),
      h('span', { class: 'usage-limit-value', id: 'limits-cap' }, cap === null || cap === undefined ? 'No cap' : `${credits(cap)} credits`)),
    cap === null || cap === undefined ? h('div', { class: 'small muted' }, `${credits(l.month_spent)} credits spent this month`)
      : [meter(capUsed, 'Monthly credit cap used'),
        h('div', { class: 'small muted' }, h('span', { id: 'limits-month-remaining' }, credits(l.month_remaining)), ' credits left · ',
          `${credits(l.month_spent)} spent`, l.reserved ? ` · ${credits(l.reserved)} held` : '', ` · resets ${when(l.month_resets_at)}`)]);
  card.replaceChildren(head, h('p', { class: 'small muted usage-note' }, 'Limits count images, not requests: a request for 4 images uses 4.'),
    h('div', { class: 'usage-limits' }, rows, capBox));
}
