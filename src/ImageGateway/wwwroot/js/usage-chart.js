import { h, svg, credits } from './ui.js';

/** Colour classes for the models, in order; a ninth model shares the first colour. */
export const SERIES = 8;
export const seriesClass = (i) => `series-${i % SERIES}`;

/** Every UTC day from `from` to `to` (YYYY-MM-DD, both included). */
export function daysBetween(from, to) {
  const days = [];
  for (let d = new Date(`${from}T00:00:00Z`), end = new Date(`${to}T00:00:00Z`); d <= end; d.setUTCDate(d.getUTCDate() + 1))
    days.push(d.toISOString().slice(0, 10));
  return days;
}

const fmtDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const fmtFull = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
/** "3 Dec", or "3 Dec 2025" with the year (always with `full`, or when it is not this year). */
export const dayLabel = (iso, full = false) =>
  (full || iso.slice(0, 4) !== String(new Date().getUTCFullYear()) ? fmtFull : fmtDay).format(new Date(`${iso}T00:00:00Z`));

/** A legend: one swatch per model, in the chart's colours. */
export function legend(models) {
  return h('div', { class: 'legend usage-legend', id: 'spend-legend' },
    models.map((m, i) => h('span', { 'data-model': m }, h('i', { class: seriesClass(i) }), m)));
}

/**
 * Credits per day, one bar per day stacked by model (in the order of `models`). Each segment
 * carries its day, model and value, so a test (or a screen reader's title) can read it.
 */
export function stackedChart(days, rows, models, width = 640) {
  // Drawn at the width it is shown at, so its labels stay readable on a phone and it stays low on a laptop.
  const W = Math.round(Math.max(300, Math.min(1000, width))), H = W < 500 ? 170 : 210, left = 40, bottom = 22, top = 8;
  const byDay = new Map(days.map((d) => [d, new Map()]));
  for (const r of rows) byDay.get(r.date)?.set(r.model, (byDay.get(r.date).get(r.model) || 0) + r.credits);
  const totals = days.map((d) => [...byDay.get(d).values()].reduce((s, v) => s + v, 0));
  const nice = niceMax(Math.max(...totals, 0.001));
  const plotW = W - left, plotH = H - bottom - top, step = plotW / days.length;
  const y = (v) => top + plotH - (v / nice) * plotH;
  const el = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Credits per day by model, ${dayLabel(days[0])} to ${dayLabel(days[days.length - 1])}` });
  for (const frac of [0, 0.5, 1]) {
    const v = nice * frac;
    el.append(svg('line', { x1: left, x2: W, y1: y(v), y2: y(v), class: 'axis', 'stroke-dasharray': frac ? '3 3' : null }),
      svg('text', { x: left - 6, y: y(v) + 3, 'text-anchor': 'end', class: 'tick' }, trim(v)));
  }
  const every = Math.max(1, Math.ceil(days.length / (W < 500 ? 4 : 7)));
  days.forEach((d, i) => {
    let base = 0;
    models.forEach((m, mi) => {
      const value = byDay.get(d).get(m) || 0;
      if (!value) return;
      const barH = Math.max(2, (value / nice) * plotH);
      el.append(svg('rect', { x: left + i * step + step * 0.15, y: y(base) - barH, width: Math.max(1, step * 0.7), height: barH, class: seriesClass(mi),
        'data-day': d, 'data-model': m, 'data-value': value }, svg('title', {}, `${dayLabel(d)} · ${m}: ${credits(value)} credits`)));
      base += (barH / plotH) * nice;
    });
    if ((days.length - 1 - i) % every === 0)
      el.append(svg('text', { x: left + i * step + step / 2, y: H - 6, 'text-anchor': 'middle', class: 'tick' }, dayLabel(d)));
  });
  return h('div', { class: 'chart', id: 'spend-chart' }, el);
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((c) => c >= v) || v;
}
const trim = (v) => (Math.round(v * 100) / 100).toString();
