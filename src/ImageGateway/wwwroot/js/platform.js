import { api } from './api.js';
import { h, empty, alertBox, pageHead, credits, errorText, stat } from './ui.js';

const spans = [7, 30, 90];
const count = new Intl.NumberFormat('en-US');
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });
const dayLabel = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: '2-digit', month: 'short', timeZone: 'UTC' });
// Remembered while the console is open, so a round trip to another page keeps the window.
const kept = { days: 30, user: '' };

/** Operator page: usage across all accounts from GET /api/v1/admin/usage, per model and per day, with margins. */
export function platformPage(main) {
  const daysSelect = h('select', { id: 'platform-days', class: 'fit', 'aria-label': 'Period' },
    spans.map((d) => h('option', { value: d, selected: d === kept.days }, `Last ${d} days`)));
  const user = h('input', { type: 'search', id: 'platform-user', placeholder: 'All users (or a user id)', 'aria-label': 'Only this user id', value: kept.user, autocomplete: 'off' });
  const filter = h('form', { class: 'platform-filter', role: 'search' }, daysSelect, user);
  const stats = h('div', { class: 'stats', id: 'platform-stats' });
  const models = h('section', { class: 'card', 'aria-labelledby': 'models-title' });
  const days = h('section', { class: 'card', 'aria-labelledby': 'days-title' });
  const status = h('div', {});
  main.append(pageHead('Platform usage', 'Requests, images and credits across every account.', filter), status, stats, models, days);

  daysSelect.addEventListener('change', () => { kept.days = Number(daysSelect.value); load(); });
  filter.addEventListener('submit', (e) => { e.preventDefault(); kept.user = user.value.trim(); load(); });
  let seq = 0;

  async function load() {
    const mine = ++seq;
    status.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const res = await api(`/api/v1/admin/usage?days=${kept.days}${kept.user ? `&user=${encodeURIComponent(kept.user)}` : ''}`);
      if (mine !== seq) return;
      status.replaceChildren(kept.user ? alertBox('warn', null, `Only user ${kept.user}. Clear the field and press Enter for everyone.`) : '');
      render(res);
    } catch (err) {
      if (mine !== seq) return;
      status.replaceChildren(alertBox('bad', 'Could not load platform usage', errorText(err)));
      stats.replaceChildren(); models.replaceChildren(); days.replaceChildren();
    }
  }

  function render(res) {
    const t = res.totals;
    const split = (k) => `${fmtSplit(t.platform[k], k)} platform · ${fmtSplit(t.byok[k], k)} own keys`;
    stats.replaceChildren(
      stat('Requests', count.format(t.requests), split('requests'), 'platform-requests'),
      stat('Images', count.format(t.images), split('images'), 'platform-images'),
      stat('Credits charged', credits(t.credits), `${credits(t.platform.credits)} platform · ${credits(t.byok.credits)} own keys`, 'platform-credits'));
    if (!res.data.length) {
      models.replaceChildren(h('h2', { id: 'models-title' }, 'Per model'), empty('chart', `No usage in the last ${res.days} days`));
      days.replaceChildren();
      return;
    }
    renderModels(res);
    renderDays(res);
  }

  const fmtSplit = (v, k) => (k === 'credits' ? credits(v) : count.format(v));

  function group(rows, key) {
    const map = new Map();
    for (const r of rows) {
      const g = map.get(r[key]) || { key: r[key], requests: 0, images: 0, credits: 0, byok: 0 };
      g.requests += r.requests;
      g.images += r.images;
      g.credits += r.credits;
      if (r.byok) g.byok += r.requests;
      map.set(r[key], g);
    }
    return [...map.values()];
  }

  function renderModels(res) {
    const margins = new Map((res.margins || []).map((m) => [m.model, m]));
    const rows = group(res.data, 'model').sort((a, b) => b.credits - a.credits || a.key.localeCompare(b.key));
    models.replaceChildren(h('div', { class: 'card-head' }, h('h2', { id: 'models-title' }, 'Per model')),
      h('div', { class: 'table-wrap' }, h('table', { id: 'platform-models' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Model'), h('th', { class: 'num' }, 'Requests'), h('th', { class: 'num' }, 'Images'),
          h('th', { class: 'num' }, 'Credits'), h('th', { class: 'num' }, 'Revenue'), h('th', { class: 'num' }, 'Upstream cost'), h('th', { class: 'num' }, 'Margin'))),
        h('tbody', {}, rows.map((g) => {
          const m = margins.get(g.key);
          const money = (v, cls) => m ? h('td', { class: `num ${cls || ''}` }, usd.format(v)) : h('td', { class: 'num muted' }, '—');
          return h('tr', { 'data-model': g.key },
            h('td', {}, h('code', {}, g.key), g.byok ? h('div', { class: 'muted small' }, `${count.format(g.byok)} on own keys`) : null),
            h('td', { class: 'num requests' }, count.format(g.requests)),
            h('td', { class: 'num images' }, count.format(g.images)),
            h('td', { class: 'num credits' }, credits(g.credits)),
            money(m && m.revenue_usd), money(m && m.upstream_cost_usd),
            money(m && m.margin_usd, m && m.margin_usd < 0 ? 'margin bad-text' : 'margin'));
        })))),
      h('p', { class: 'hint', id: 'margin-note' }, res.margins
        ? 'Margins only cover requests whose upstream reported a cost (priced requests); “—” where no upstream cost is known for the model.'
        : 'Margins are not available: no US dollar rate per credit is configured (Gateway__Billing__UsdPerCredit).'));
  }

  function renderDays(res) {
    const rows = group(res.data, 'day').sort((a, b) => b.key.localeCompare(a.key));
    days.replaceChildren(h('div', { class: 'card-head' }, h('h2', { id: 'days-title' }, 'Per day'), h('span', { class: 'muted small' }, 'UTC days with usage')),
      h('div', { class: 'table-wrap' }, h('table', { id: 'platform-days-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Day'), h('th', { class: 'num' }, 'Requests'), h('th', { class: 'num' }, 'Images'), h('th', { class: 'num' }, 'Credits'))),
        h('tbody', {}, rows.map((g) => h('tr', { 'data-day': g.key },
          h('td', { class: 'nowrap' }, dayLabel.format(new Date(`${g.key}T00:00:00Z`))),
          h('td', { class: 'num' }, count.format(g.requests)),
          h('td', { class: 'num' }, count.format(g.images)),
          h('td', { class: 'num' }, credits(g.credits))))))));
  }

  load();
}
