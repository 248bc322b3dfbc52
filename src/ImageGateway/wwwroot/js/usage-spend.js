import { api, apiResponse, llm } from './api.js';
import { h, empty, alertBox, credits, errorText, toast, busy } from './ui.js';
import { daysBetween, dayLabel, legend, stackedChart, seriesClass } from './usage-chart.js';

const DEFAULT_DAYS = 30;
/** The widest range /usage/daily answers (UsageApi.MaxDays). */
const MAX_DAYS = 366;

const isoDay = (date) => date.toISOString().slice(0, 10);

/** The spend-per-day card: a UTC date range, a stacked chart by model, a day × model table and a CSV export. */
export function spendCard() {
  const today = new Date();
  const start = new Date(today);
  start.setUTCDate(start.getUTCDate() - (DEFAULT_DAYS - 1));
  const from = h('input', { type: 'date', id: 'spend-from', value: isoDay(start), max: isoDay(today), required: true });
  const to = h('input', { type: 'date', id: 'spend-to', value: isoDay(today), max: isoDay(today), required: true });
  const show = h('button', { type: 'submit', class: 'btn btn-ghost' }, 'Show');
  const exportBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'spend-export' }, 'Export CSV');
  const error = h('p', { class: 'form-error', id: 'spend-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'inline-form usage-range', novalidate: true, 'aria-label': 'Date range' },
    h('div', { class: 'field' }, h('label', { for: 'spend-from' }, 'From'), from),
    h('div', { class: 'field' }, h('label', { for: 'spend-to' }, 'To'), to),
    h('div', { class: 'actions' }, show, exportBtn));
  const body = h('div', { class: 'usage-spend-body' });
  const el = h('section', { class: 'card', id: 'spend', 'aria-labelledby': 'spend-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'spend-title' }, 'Spend per day'), h('span', { class: 'small muted' }, 'Days in UTC, by model')),
    form, error, body);
  let controller = null;

  /** The range as typed, or null after saying what is wrong with it (then nothing is asked). */
  function range() {
    const a = from.value, b = to.value;
    let message = '';
    if (!a || !b) message = 'Choose both a start and an end date.';
    else if (a > b) message = `The start date (${dayLabel(a, true)}) is after the end date (${dayLabel(b, true)}). Pick a start on or before the end.`;
    else if (daysBetween(a, b).length > MAX_DAYS) message = `The range may span at most ${MAX_DAYS} days.`;
    error.textContent = message;
    error.hidden = !message;
    if (message) from.setAttribute('aria-invalid', 'true'); else from.removeAttribute('aria-invalid');
    return message ? null : { from: a, to: b };
  }

  async function load() {
    const r = range();
    if (!r) { body.replaceChildren(); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const data = await api(llm(`/usage/daily?from=${r.from}&to=${r.to}`), { signal: controller.signal });
      render(data);
    } catch (err) {
      if (err.name === 'AbortError') return;
      body.replaceChildren(alertBox('bad', 'Could not load your spend', errorText(err)));
    }
  }

  function render(data) {
    if (!data.days.length) {
      body.replaceChildren(empty('chart', `No usage from ${dayLabel(data.from)} to ${dayLabel(data.to)}`,
        'Requests you make show up here, per day and model.'));
      body.firstChild.id = 'spend-empty';
      return;
    }
    // Models ordered by what they cost over the range, so the biggest gets the first colour.
    const perModel = new Map();
    for (const r of data.days) perModel.set(r.model, (perModel.get(r.model) || 0) + r.credits);
    const models = [...perModel.keys()].sort((a, b) => perModel.get(b) - perModel.get(a) || a.localeCompare(b));
    const colour = new Map(models.map((m, i) => [m, seriesClass(i)]));
    const totalRequests = data.days.reduce((s, r) => s + r.requests, 0);
    const newestFirst = [...data.days].sort((a, b) => b.date.localeCompare(a.date) || a.model.localeCompare(b.model));
    const rows = newestFirst.map((r) => h('tr', { 'data-date': r.date, 'data-model': r.model },
      h('td', { class: 'nowrap' }, dayLabel(r.date)),
      h('td', {}, h('i', { class: `usage-dot ${colour.get(r.model)}`, 'aria-hidden': 'true' }), r.model),
      h('td', { class: 'num usage-requests' }, r.requests),
      h('td', { class: 'num' }, r.images),
      h('td', { class: 'num' }, credits(r.credits))));
    body.replaceChildren(
      h('div', { class: 'usage-summary' },
        h('span', {}, h('strong', { id: 'spend-total-credits' }, credits(data.total_credits)), ' credits'),
        h('span', {}, h('strong', { id: 'spend-total-images' }, data.total_images), ` image${data.total_images === 1 ? '' : 's'}`),
        h('span', {}, h('strong', {}, totalRequests), ` request${totalRequests === 1 ? '' : 's'}`)),
      legend(models),
      stackedChart(daysBetween(data.from, data.to), data.days, models, body.clientWidth || 640),
      h('div', { class: 'table-wrap' }, h('table', { id: 'spend-table' },
        h('caption', { class: 'offscreen' }, `Spend per day and model, ${dayLabel(data.from)} to ${dayLabel(data.to)}`),
        h('thead', {}, h('tr', {}, h('th', {}, 'Day'), h('th', {}, 'Model'), h('th', { class: 'num usage-requests' }, 'Requests'),
          h('th', { class: 'num' }, 'Images'), h('th', { class: 'num' }, 'Credits'))),
        h('tbody', {}, rows),
        h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: 2 }, 'Total'), h('td', { class: 'num usage-requests' }, totalRequests),
          h('td', { class: 'num', id: 'spend-table-images' }, data.total_images), h('td', { class: 'num', id: 'spend-table-credits' }, credits(data.total_credits)))))));
  }

  /** The CSV comes with the key (a plain link would carry none), then leaves as a blob: download. */
  async function exportCsv() {
    const r = range();
    if (!r) return;
    await busy(exportBtn, async () => {
      try {
        const response = await apiResponse(llm(`/usage/daily?from=${r.from}&to=${r.to}&format=csv`), { accept: 'text/csv' });
        const url = URL.createObjectURL(await response.blob());
        const a = h('a', { href: url, download: `usage-${r.from}-${r.to}.csv`, class: 'offscreen' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      } catch (err) {
        toast(`Could not export: ${errorText(err)}`, true);
      }
    });
  }

  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  from.addEventListener('change', load);
  to.addEventListener('change', load);
  exportBtn.addEventListener('click', exportCsv);
  return { el, load, abort: () => controller && controller.abort() };
}
