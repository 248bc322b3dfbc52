import { api } from './api.js';
import { h, empty, alertBox, pageHead, when, errorText, busy } from './ui.js';

/** The circuit breaker's states, as an operator reads them. */
const circuit = {
  closed: ['Healthy', 'badge-ok'], open: ['Circuit open', 'badge-bad'],
  half_open: ['Recovering', 'badge-warn'], isolated: ['Isolated', 'badge-bad'],
};

/** Operator page: each upstream provider, whether it has a platform key, its circuit and its latest failures. */
export function providersPage(main) {
  const refresh = h('button', { type: 'button', class: 'btn btn-ghost', id: 'providers-refresh' }, 'Refresh');
  const checked = h('span', { class: 'muted small', id: 'providers-checked' });
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  main.append(pageHead('Providers', 'The upstreams the gateway routes to, and whether each is answering.', h('div', { class: 'actions' }, refresh)),
    h('section', { class: 'card', 'aria-labelledby': 'providers-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'providers-title' }, 'Provider health'), checked), body,
      h('p', { class: 'muted small provider-note' },
        'A circuit opens after repeated failures: requests skip that provider and try the next one on the model’s route until it recovers.')));
  refresh.addEventListener('click', () => busy(refresh, load));

  async function load() {
    try {
      const res = await api('/api/v1/admin/providers');
      checked.textContent = `Checked ${new Date().toLocaleTimeString('en-GB')}`;
      if (!res.data.length) { body.replaceChildren(empty('list', 'No providers configured')); return; }
      body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'providers' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Provider'), h('th', {}, 'State'), h('th', {}, 'Platform key'), h('th', {}, 'Recent failures'), h('th', {}, 'Kind'))),
        h('tbody', {}, res.data.map(row)))));
    } catch (err) { body.replaceChildren(alertBox('bad', 'Could not load provider health', errorText(err))); }
  }

  function row(p) {
    // The circuit's state wins: a provider without a platform key can still be failing (users' own keys).
    const [label, cls] = p.circuit !== 'closed' ? circuit[p.circuit] || [p.circuit, 'badge-muted']
      : !p.configured ? ['Not configured', 'badge-muted'] : circuit.closed;
    const failures = p.recent_failures || [];
    const last = failures[failures.length - 1];
    return h('tr', { 'data-provider': p.name, 'data-circuit': p.circuit },
      h('td', {}, h('strong', {}, p.name), p.base_url ? h('div', { class: 'muted small provider-url' }, p.base_url) : null),
      // The state comes second, so a phone shows it without scrolling the table.
      h('td', {}, h('span', { class: `badge ${cls}` }, label)),
      h('td', {}, p.configured ? 'Configured' : h('span', { class: 'muted' }, 'Missing')),
      h('td', { class: 'provider-failures' }, failures.length
        ? h('span', { title: last.reason }, `${failures.length} · last ${when(last.at)}: ${last.reason}`)
        : h('span', { class: 'muted' }, 'None')),
      h('td', { class: 'muted' }, p.kind));
  }

  load();
}
