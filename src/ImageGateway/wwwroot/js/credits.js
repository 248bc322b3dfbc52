import { api, llm } from './api.js';
import { h, svg, empty, alertBox, pageHead, credits, signed, when, errorText, entryKinds } from './ui.js';

const DAYS = 30;

/** The ledger: every grant, hold, charge and release, one click from the usage page. */
export function ledgerPage(main) {
  const chartCard = h('section', { class: 'card', 'aria-labelledby': 'chart-title' });
  const historyCard = h('section', { class: 'card', 'aria-labelledby': 'history-title' });
  const back = h('a', { href: '#/usage', class: 'btn btn-ghost', id: 'usage-link' }, '← Usage & limits');
  main.append(pageHead('Ledger', 'Every credit, hold, charge and release on your account, newest first.', back), chartCard, historyCard);

  let pageSize = 10;
  let offset = 0;

  async function loadHistory() {
    historyCard.replaceChildren(h('div', { class: 'card-head' }, h('h2', { id: 'history-title' }, 'History')), h('p', { class: 'muted' }, 'Loading…'));
    try {
      const page = await api(llm(`/credits/history?limit=${pageSize}&offset=${offset}`));
      renderHistory(page);
    } catch (err) {
      historyCard.replaceChildren(h('h2', { id: 'history-title' }, 'History'), alertBox('bad', 'Could not load the history', errorText(err)));
    }
  }

  function renderHistory(page) {
    const sizeSelect = h('select', { id: 'history-size', 'aria-label': 'Rows per page', class: 'fit' },
      ...[10, 25, 50, 100].map((v) => h('option', { value: v, selected: v === pageSize }, `${v} per page`)));
    sizeSelect.addEventListener('change', () => { pageSize = Number(sizeSelect.value); offset = 0; loadHistory(); });
    const head = h('div', { class: 'card-head' }, h('h2', { id: 'history-title' }, 'History'), sizeSelect);
    if (!page.transactions.length) {
      historyCard.replaceChildren(head, empty('list', 'No transactions yet', 'Credits granted to you and every charge will be listed here.'));
      return;
    }
    const rows = page.transactions.map((t) => {
      const [label, cls] = entryKinds[t.type] || [t.type, 'badge-muted'];
      return h('tr', { 'data-type': t.type },
        h('td', {}, when(t.created_at)),
        h('td', {}, h('span', { class: `badge ${cls}` }, label)),
        h('td', {}, t.description || h('span', { class: 'muted' }, '—')),
        h('td', { class: `num ${t.amount > 0 ? 'pos' : 'neg'}` }, t.amount ? signed(t.amount) : h('span', { class: 'muted' }, '0')),
        h('td', { class: 'num muted' }, t.hold ? signed(t.hold) : ''),
        h('td', { class: 'num' }, credits(t.balance_after)));
    });
    const first = page.offset + 1, last = page.offset + page.transactions.length;
    const prev = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', id: 'history-prev', disabled: page.offset === 0 }, '← Newer');
    const next = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', id: 'history-next', disabled: last >= page.total }, 'Older →');
    prev.addEventListener('click', () => { offset = Math.max(0, offset - pageSize); loadHistory(); });
    next.addEventListener('click', () => { offset += pageSize; loadHistory(); });
    historyCard.replaceChildren(head,
      h('div', { class: 'table-wrap' }, h('table', { id: 'history' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Date'), h('th', {}, 'Type'), h('th', {}, 'Details'), h('th', { class: 'num' }, 'Amount'), h('th', { class: 'num' }, 'Hold'), h('th', { class: 'num' }, 'Balance'))),
        h('tbody', {}, rows))),
      h('div', { class: 'pager' }, h('span', { id: 'history-range' }, `${first}–${last} of ${page.total}`), h('div', { class: 'actions' }, prev, next)));
  }

  async function loadChart() {
    chartCard.replaceChildren(h('div', { class: 'card-head' }, h('h2', { id: 'chart-title' }, 'Last 30 days')), h('p', { class: 'muted' }, 'Loading…'));
    try {
      const since = Date.now() / 1000 - DAYS * 86400;
      const settles = [];
      // History is newest first: read pages until one reaches past the window (bounded, to stay cheap).
      for (let off = 0, pages = 0; pages < 10; pages++, off += 200) {
        const page = await api(llm(`/credits/history?limit=200&offset=${off}`));
        for (const t of page.transactions) if (t.type === 'settle' && t.created_at >= since) settles.push(t);
        const oldest = page.transactions[page.transactions.length - 1];
        if (!oldest || oldest.created_at < since || off + 200 >= page.total) break;
      }
      renderChart(aggregate(settles));
    } catch (err) {
      chartCard.replaceChildren(h('h2', { id: 'chart-title' }, 'Last 30 days'), alertBox('bad', 'Could not load usage', errorText(err)));
    }
  }

  function aggregate(settles) {
    const days = [];
    const today = new Date();
    today.setHours(0, 0, 0, 0);
    for (let i = DAYS - 1; i >= 0; i--) {
      const d = new Date(today);
      d.setDate(d.getDate() - i);
      days.push({ date: d, key: d.toDateString(), credits: 0, images: 0 });
    }
    const byKey = new Map(days.map((d) => [d.key, d]));
    for (const t of settles) {
      const d = new Date(t.created_at * 1000);
      d.setHours(0, 0, 0, 0);
      const bucket = byKey.get(d.toDateString());
      if (!bucket) continue;
      bucket.credits += -t.amount;
      // Settle descriptions read "model ×N size quality via provider": N is the images delivered.
      const m = /×\s*(\d+)/.exec(t.description || '');
      bucket.images += m ? Number(m[1]) : 1;
    }
    return days;
  }

  function renderChart(days) {
    const totalCredits = days.reduce((s, d) => s + d.credits, 0);
    const totalImages = days.reduce((s, d) => s + d.images, 0);
    const head = h('div', { class: 'card-head' }, h('h2', { id: 'chart-title' }, 'Last 30 days'),
      h('div', { class: 'legend' }, h('span', {}, h('i', { class: 'swatch-credits' }), `${credits(totalCredits)} credits`),
        h('span', {}, h('i', { class: 'swatch-images' }), `${totalImages} images`)));
    if (!totalImages && !totalCredits) {
      chartCard.replaceChildren(head, empty('chart', 'No usage in the last 30 days', 'Generate an image and your daily usage shows up here.'));
      return;
    }
    chartCard.replaceChildren(head, h('div', { class: 'two' },
      h('div', { class: 'chart', id: 'chart-credits' }, h('h3', {}, 'Credits per day'), barChart(days, 'credits', 'bar-credits', (v) => `${credits(v)} credits`)),
      h('div', { class: 'chart', id: 'chart-images' }, h('h3', {}, 'Images per day'), barChart(days, 'images', 'bar-images', (v) => `${v} image${v === 1 ? '' : 's'}`))));
  }

  function barChart(days, prop, cls, label) {
    const W = 480, H = 180, left = 40, bottom = 22, top = 8;
    const max = Math.max(...days.map((d) => d[prop]), prop === 'images' ? 1 : 0.001);
    const nice = niceMax(max);
    const plotW = W - left, plotH = H - bottom - top, step = plotW / days.length;
    const y = (v) => top + plotH - (v / nice) * plotH;
    const fmtDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short' });
    const el = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${prop} per day over the last ${DAYS} days` });
    for (const frac of [0, 0.5, 1]) {
      const v = nice * frac;
      el.append(svg('line', { x1: left, x2: W, y1: y(v), y2: y(v), class: 'axis', 'stroke-dasharray': frac ? '3 3' : null }),
        svg('text', { x: left - 6, y: y(v) + 3, 'text-anchor': 'end', class: 'tick' }, prop === 'images' ? Math.round(v) : trim(v)));
    }
    days.forEach((d, i) => {
      const value = d[prop];
      const barH = Math.max(value ? 2 : 0, (value / nice) * plotH);
      el.append(svg('rect', { x: left + i * step + step * 0.18, y: top + plotH - barH, width: step * 0.64, height: barH, rx: 2, class: cls, 'data-day': d.key, 'data-value': value },
        svg('title', {}, `${fmtDay.format(d.date)}: ${label(value)}`)));
      if ((days.length - 1 - i) % 7 === 0)
        el.append(svg('text', { x: left + i * step + step / 2, y: H - 6, 'text-anchor': 'middle', class: 'tick' }, fmtDay.format(d.date)));
    });
    return el;
  }

  const niceMax = (v) => {
    const p = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 2.5, 5, 10].map((m) => m * p).find((c) => c >= v) || v;
  };
  const trim = (v) => (Math.round(v * 100) / 100).toString();

  loadChart();
  loadHistory();
}
