import { api } from './api.js';
import { h, empty, alertBox, credits, when, qualityLabel, errorText, busy, outcomes as statuses } from './ui.js';

const PAGE = 20;
const operations = { generate: 'Generate', edit: 'Edit', variation: 'Variation' };

/** Every request with its outcome, newest first, from /api/v1/activity; filtered by status, paged by cursor. */
export function activityCard() {
  const filter = h('select', { id: 'activity-status', class: 'fit', 'aria-label': 'Show' },
    h('option', { value: '' }, 'All requests'),
    ...Object.entries(statuses).map(([value, [label]]) => h('option', { value }, label)));
  const body = h('div', {});
  const el = h('section', { class: 'card', id: 'activity', 'aria-labelledby': 'activity-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'activity-title' }, 'Activity'), filter), body);
  let controller = null;
  let tbody = null;
  let more = null;

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const page = await fetchPage(null, controller.signal);
      renderFirst(page);
    } catch (err) {
      if (err.name === 'AbortError') return;
      body.replaceChildren(alertBox('bad', 'Could not load your activity', errorText(err)));
    }
  }

  function fetchPage(cursor, signal) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (filter.value) q.set('status', filter.value);
    if (cursor) q.set('cursor', cursor);
    return api(`/api/v1/activity?${q}`, { signal });
  }

  function renderFirst(page) {
    if (!page.data.length) {
      const label = filter.value ? statuses[filter.value][0].toLowerCase() : '';
      body.replaceChildren(empty('list', filter.value ? `No ${label} requests` : 'No requests yet',
        filter.value ? 'Choose “All requests” to see the others.' : 'Every image you ask for is listed here with its outcome and cost.'));
      body.firstChild.id = 'activity-empty';
      return;
    }
    tbody = h('tbody', {}, page.data.map(row));
    more = h('div', { class: 'pager' });
    body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'activity-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'What'), h('th', { class: 'usage-status' }, 'Status'), h('th', { class: 'num' }, 'Credits'))),
      tbody)), more);
    renderMore(page);
  }

  function renderMore(page) {
    const shown = tbody.children.length;
    if (!page.has_more) { more.replaceChildren(h('span', { id: 'activity-count' }, `${shown} request${shown === 1 ? '' : 's'}`)); return; }
    const btn = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', id: 'activity-more' }, 'Load more');
    btn.addEventListener('click', () => busy(btn, async () => {
      try {
        const next = await fetchPage(page.next_cursor, controller.signal);
        tbody.append(...next.data.map(row));
        renderMore(next);
      } catch (err) {
        if (err.name !== 'AbortError') more.replaceChildren(alertBox('bad', 'Could not load more', errorText(err)), btn);
      }
    }));
    more.replaceChildren(h('span', { id: 'activity-count' }, `${shown} shown`), btn);
  }

  function row(item) {
    const [label, cls] = statuses[item.status] || [item.status, 'badge-muted'];
    const what = [operations[item.operation] || item.operation, item.model, item.size, item.quality ? qualityLabel(item.quality) : null,
      item.n > 1 ? `×${item.n}` : null].filter(Boolean).join(' · ');
    const cost = item.byok ? h('span', { class: 'muted' }, 'your key') : credits(item.credits);
    return h('tr', { 'data-status': item.status, 'data-id': item.id },
      h('td', { class: 'usage-time' }, h('a', { href: `#/history/${encodeURIComponent(item.id)}`, title: 'Open in history' }, when(item.created_at))),
      // On a phone the status column is hidden and the badge shows here instead.
      h('td', { class: 'usage-what' }, h('div', {}, h('span', { class: `badge ${cls} usage-status-inline` }, label), what),
        item.prompt ? h('div', { class: 'small muted usage-prompt' }, item.prompt) : null,
        item.error ? h('div', { class: 'usage-error small' }, item.error.message || `HTTP ${item.error.status}`,
          item.error.code ? h('code', { class: 'badge-after' }, item.error.code) : null) : null),
      h('td', { class: 'usage-status' }, h('span', { class: `badge ${cls}` }, label)),
      h('td', { class: 'num' }, cost));
  }

  filter.addEventListener('change', load);
  return { el, load, abort: () => controller && controller.abort() };
}
