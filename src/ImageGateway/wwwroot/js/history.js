import { api, llm } from './api.js';
import { h, empty, alertBox, pageHead, field, toast, confirmDialog, credits, when, errorText, busy, hasAlpha, qualityLabel, outcomes as statuses } from './ui.js';
import { handoff } from './generate.js';

/** Entries a page of the list asks for: a multiple of 2, 3 and 4, so full pages fill the grid's rows. */
export const PAGE = 24;
const SEARCH_DELAY = 300;
const operations = { generate: 'Generation', edit: 'Edit', variation: 'Variation' };
const base = '/api/v1/history';

const badge = (status) => {
  const [label, cls] = statuses[status] || [status, 'badge-muted'];
  return h('span', { class: `badge ${cls}`, 'data-testid': 'status' }, label);
};
const sizeText = (size) => (size || '').replace('x', '×');
const cost = (item) => (item.byok ? 'your key' : `${credits(item.credits)} cr`);
const detailHref = (id) => `#/history/${encodeURIComponent(id)}`;

/** Why an entry shows no picture, in words. */
function missing(item) {
  if (item.status !== 'succeeded') return 'No image';
  return { expired: 'Link expired', not_stored: 'Not stored (b64_json)' }[item.images_state] || 'No image';
}

/** An image in a .frame; the checkerboard only behind one that really has transparent pixels. */
function picture(frame, src, alt) {
  const img = h('img', { src, alt, loading: 'lazy' });
  img.addEventListener('load', () => frame.classList.toggle('alpha', hasAlpha(img)), { once: true });
  frame.append(img);
  return frame;
}

/**
 * The caller's own record of requests: `#/history` lists them (search, filters, load more), and
 * `#/history/{id}` shows one with its exact parameters, its images and re-run / edit / delete.
 */
export function historyPage(main, app, path) {
  const life = { alive: true, stop: null };
  if (path) detailView(main, app, path, life);
  else listView(main, app, life);
  return () => { life.alive = false; if (life.stop) life.stop(); };
}

function listView(main, app, life) {
  const q = h('input', { type: 'search', name: 'q', placeholder: 'Words in the prompt', maxlength: 200, autocomplete: 'off' });
  const model = h('select', { name: 'model' }, h('option', { value: '' }, 'All models'));
  const status = h('select', { name: 'status' }, h('option', { value: '' }, 'Any status'),
    ...Object.entries(statuses).map(([value, [label]]) => h('option', { value }, label)));
  const filters = h('form', { class: 'card history-filters', id: 'history-filters', role: 'search' },
    field('history-q', 'Search prompts', q), field('history-model', 'Model', model), field('history-status', 'Status', status),
    h('button', { type: 'submit', class: 'btn btn-primary', id: 'history-search' }, 'Search'));
  const deleteAll = h('button', { type: 'button', class: 'btn btn-danger', id: 'history-delete-all' }, 'Delete all history');
  const summary = h('p', { class: 'muted small history-summary', id: 'history-summary', 'aria-live': 'polite' }, 'Loading…');
  const grid = h('div', { class: 'gallery history-grid', id: 'history-list' });
  const more = h('button', { type: 'button', class: 'btn btn-ghost', id: 'history-more', hidden: true }, 'Load more');
  main.append(pageHead('History', 'Every image request you made, newest first, with what it cost. It stays after a reload.', deleteAll),
    filters, summary, grid, h('div', { class: 'history-more' }, more));

  let cursor = null;
  let seq = 0;
  let shown = 0;

  const query = () => {
    const p = new URLSearchParams({ limit: PAGE });
    if (q.value.trim()) p.set('q', q.value.trim());
    if (model.value) p.set('model', model.value);
    if (status.value) p.set('status', status.value);
    if (cursor) p.set('cursor', cursor);
    return p;
  };
  const filtered = () => !!(q.value.trim() || model.value || status.value);

  async function load(reset) {
    const mine = ++seq;
    if (reset) { cursor = null; shown = 0; grid.setAttribute('aria-busy', 'true'); }
    try {
      const page = await api(`${base}?${query()}`);
      if (!life.alive || mine !== seq) return;
      cursor = page.next_cursor;
      if (reset) grid.replaceChildren();
      const cards = page.data.map(card);
      grid.append(...cards);
      // After Load more, focus goes to the first new card rather than to a button that may have gone.
      if (!reset && cards.length) cards[0].querySelector('a.history-link').focus();
      shown += page.data.length;
      more.hidden = !page.has_more;
      summary.textContent = shown ? `${shown} ${shown === 1 ? 'entry' : 'entries'} shown${page.has_more ? ', more below' : ''}` : '';
      if (!shown) {
        grid.replaceChildren(h('div', { class: 'card history-empty' }, filtered()
          ? empty('list', 'Nothing matches', 'Try other words, or clear the model and status filters.')
          : empty('image', 'No history yet', 'Images you generate or edit are listed here, with what they cost.')));
      }
      deleteAll.disabled = !shown && !filtered();
    } catch (err) {
      if (!life.alive || mine !== seq) return;
      summary.textContent = '';
      grid.replaceChildren(alertBox('bad', 'Could not load your history', errorText(err)));
    } finally {
      if (mine === seq) grid.removeAttribute('aria-busy');
    }
  }

  function card(item) {
    const frame = h('div', { class: 'frame' });
    const image = item.images_state === 'available' && item.images[0];
    if (image) picture(frame, image.url, item.prompt || `Image made with ${item.model}`);
    else frame.append(h('span', { class: 'history-missing', 'data-testid': 'missing' }, missing(item)));
    if (item.image_count > 1) frame.append(h('span', { class: 'badge history-count' }, `${item.image_count} images`));
    const title = item.prompt || 'Prompt not kept';
    return h('article', { class: 'shot history-card', 'data-id': item.id, 'data-status': item.status },
      h('a', { href: detailHref(item.id), class: 'history-frame-link', tabindex: -1, 'aria-hidden': 'true' }, frame),
      h('div', { class: 'body' },
        h('p', { class: `prompt${item.prompt ? '' : ' muted'}`, title },
          item.operation !== 'generate' ? h('span', { class: 'badge' }, operations[item.operation] || item.operation) : null, ' ',
          h('a', { href: detailHref(item.id), class: 'history-link' }, title)),
        h('div', { class: 'meta' }, h('span', { class: 'history-model' }, item.model), badge(item.status)),
        h('div', { class: 'meta' }, h('span', {}, `${sizeText(item.size)} · ${qualityLabel(item.quality)}`), h('span', { class: 'history-cost' }, cost(item))),
        h('div', { class: 'meta' }, h('time', { datetime: new Date(item.created_at * 1000).toISOString() }, when(item.created_at)))));
  }

  let searchTimer = null;
  const reload = () => { clearTimeout(searchTimer); load(true); };
  q.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(reload, SEARCH_DELAY); });
  life.stop = () => clearTimeout(searchTimer);
  model.addEventListener('change', reload);
  status.addEventListener('change', reload);
  filters.addEventListener('submit', (event) => { event.preventDefault(); reload(); });
  more.addEventListener('click', () => busy(more, () => load(false)));
  deleteAll.addEventListener('click', async () => {
    const ok = await confirmDialog('Delete your whole history?',
      'Every entry goes, on this and your other keys. This cannot be undone. Your balance, usage and ledger stay as they are.', 'Delete all', true);
    if (!ok) return;
    deleteAll.disabled = true;
    try {
      const res = await api(base, { method: 'DELETE' });
      toast(`Deleted ${res.deleted} ${res.deleted === 1 ? 'entry' : 'entries'} from your history`);
      q.value = ''; model.value = ''; status.value = '';
    } catch (err) { toast(errorText(err), true); }
    await load(true);
    if (deleteAll.disabled) main.querySelector('h1').focus();
  });

  api(llm('/image/models')).then((res) => {
    if (!life.alive) return;
    model.append(...res.data.map((m) => h('option', { value: m.id }, m.id)));
  }).catch(() => { /* the filter keeps "All models"; the list itself says if the gateway is unreachable */ });
  load(true);
}

function detailView(main, app, id, life) {
  const back = h('a', { href: '#/history', class: 'history-back', id: 'history-back' }, '← All history');
  const body = h('div', { id: 'history-detail' }, h('p', { class: 'muted' }, 'Loading…'));
  main.append(back, pageHead('History entry', null), body);

  api(`${base}/${encodeURIComponent(id)}`).then((item) => {
    if (life.alive) render(item);
  }).catch((err) => {
    if (!life.alive) return;
    body.replaceChildren(err.status === 404
      ? h('div', { class: 'card' }, empty('list', 'No such entry', 'It was deleted, or belongs to another account.'))
      : alertBox('bad', 'Could not load this entry', errorText(err)));
  });

  function render(item) {
    const r = item.request || {};
    const prompt = item.prompt ?? r.prompt ?? null;
    const heading = main.querySelector('h1');
    heading.textContent = `${operations[item.operation] || 'Request'} of ${when(item.created_at)}`;
    document.title = `${heading.textContent} · ImageGateway`;

    const rerun = h('button', { type: 'button', class: 'btn btn-primary', id: 'history-rerun',
      title: prompt ? 'Fill the generate form with these settings; nothing is spent until you press Generate' : 'The prompt was not kept: the other settings are filled in' }, 'Re-run');
    rerun.addEventListener('click', () => {
      handoff.form = { prompt: prompt || '', model: r.model || item.model, n: r.n || item.n, size: r.size || item.size, quality: r.quality || item.quality, style: r.style };
      location.hash = '#/generate';
    });
    const remove = h('button', { type: 'button', class: 'btn btn-danger', id: 'history-delete' }, 'Delete');
    remove.addEventListener('click', async () => {
      const ok = await confirmDialog('Delete this entry?', 'It goes from your history. What it was charged stays in your usage and ledger.', 'Delete', true);
      if (!ok) return;
      await busy(remove, async () => {
        try {
          await api(`${base}/${encodeURIComponent(item.id)}`, { method: 'DELETE' });
          toast('Deleted from your history');
          location.hash = '#/history';
        } catch (err) { toast(errorText(err), true); }
      });
    });
    main.querySelector('.page-head').append(h('div', { class: 'actions' }, rerun, remove));

    const problem = item.error ? alertBox(item.status === 'refused' ? 'warn' : 'bad',
      `${statuses[item.status]?.[0] || item.status}: HTTP ${item.error.status}${item.error.code ? ` · ${item.error.code}` : ''}`,
      item.error.message, item.status === 'refused' ? ' Nothing was charged and no provider was asked.' : ' Nothing was charged.') : null;
    body.replaceChildren(h('div', { class: 'history-detail' }, images(item, prompt), params(item, r, prompt)));
    if (problem) body.prepend(problem);
  }

  function images(item, prompt) {
    const section = h('section', { class: 'history-images', 'aria-labelledby': 'history-images-title' }, h('h2', { id: 'history-images-title' }, 'Images'));
    if (item.images_state !== 'available') {
      const note = item.images_state === 'expired' ? `The images expired on ${when(item.images_expire_at)}.`
        : item.images_state === 'not_stored' ? 'They were sent in the answer only (b64_json) and never stored.' : 'This request made no image.';
      section.append(h('div', { class: 'shot' }, h('div', { class: 'frame' }, h('span', { class: 'history-missing', 'data-testid': 'missing' }, missing(item))),
        h('div', { class: 'body' }, h('p', { class: 'muted small' }, note))));
      return section;
    }
    item.images.forEach((img, i) => {
      const name = `${item.model}-${item.id}-${i + 1}.png`;
      const edit = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'edit', 'aria-label': item.images.length > 1 ? `Edit image ${i + 1}` : 'Edit' }, 'Edit');
      edit.addEventListener('click', () => {
        handoff.edit = { url: img.url, prompt: prompt || '', meta: { model_used: item.model } };
        location.hash = '#/generate';
      });
      section.append(h('article', { class: 'shot' },
        picture(h('div', { class: 'frame' }), img.url, prompt || `Image ${i + 1} made with ${item.model}`),
        h('div', { class: 'body' }, h('div', { class: 'meta' },
          h('div', { class: 'actions' }, h('a', { class: 'btn btn-ghost btn-sm', href: img.url, download: name }, 'Download'), edit),
          h('span', { class: 'expiry', 'data-testid': 'expiry', title: 'The download link and the stored image expire then' }, `Link expires ${when(img.expires_at)}`)))));
    });
    return section;
  }

  function params(item, r, prompt) {
    const rows = [
      ['Status', badge(item.status)],
      ['Prompt', prompt ? h('span', { class: 'history-prompt', id: 'history-prompt' }, prompt) : h('span', { class: 'muted', id: 'history-prompt' }, 'Prompt not kept')],
      ['Operation', operations[item.operation] || item.operation],
      ['Model', h('code', {}, r.model || item.model)],
      ['Size', sizeText(r.size || item.size)],
      ['Quality', qualityLabel(r.quality || item.quality)],
      ['Images', item.image_count === (r.n || item.n) ? String(item.image_count) : `${item.image_count} of ${r.n || item.n} asked for`],
      ['Seed', r.seed ?? item.seed],
      ['Style', r.style],
      ['Response format', r.response_format],
      ['Output format', r.output_format],
      ['Compression', r.output_compression],
      ['Background', r.background],
      ['Moderation', r.moderation],
      ['Streamed', r.stream ? `yes${r.partial_images ? `, ${r.partial_images} partial images` : ''}` : null],
      ['Input fidelity', r.input_fidelity],
      ['End user', r.user],
      ['Cost', h('span', { id: 'history-cost' }, item.byok ? 'Billed to your own provider key' : `${credits(item.credits)} credits`)],
      ['Provider', item.provider || h('span', { class: 'muted' }, 'none asked')],
      ['Your key (BYOK)', item.byok ? 'yes' : 'no'],
      ['Time', when(item.created_at)],
      ['Entry id', h('code', {}, item.id)],
    ].filter(([, value]) => value !== null && value !== undefined && value !== '');
    return h('section', { class: 'card history-params', 'aria-labelledby': 'history-params-title' }, h('h2', { id: 'history-params-title' }, 'Parameters'),
      h('dl', { id: 'history-params' }, rows.map(([label, value]) => [h('dt', {}, label), h('dd', { 'data-param': label }, value)])));
  }
}
