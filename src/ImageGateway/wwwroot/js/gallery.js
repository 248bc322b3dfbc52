import { api } from './api.js';
import { h, empty, credits, hasAlpha } from './ui.js';

// The generate page's results: the cards, their link-expiry countdowns and the live cards of a stream.

/**
 * The newest images of the caller's own history whose links still work, as gallery results, so the
 * gallery survives a reload. Failures give an empty list: the gallery is a convenience, not the record.
 */
export async function recentResults(limit = 12) {
  try {
    const page = await api(`/api/v1/history?limit=${limit}&status=succeeded`);
    return page.data.filter((e) => e.images_state === 'available').flatMap((e) => e.images.map((img, index) => ({
      url: img.url,
      prompt: e.prompt || '',
      edit: e.operation === 'edit',
      index,
      historyId: e.id,
      meta: {
        model_used: e.model, size: e.size, expires_at: img.expires_at, transaction_id: e.id,
        cost_incurred: e.credits, images_generated: Math.max(1, e.image_count), using_byok: e.byok,
      },
    })));
  } catch {
    return [];
  }
}

/** Draws `results` into `gallery`; `onEdit(result, button)` opens the editor. */
export function renderResults(gallery, results, { running, editable, onEdit }) {
  if (!results.length) {
    gallery.className = '';
    gallery.replaceChildren(h('div', { class: 'card' }, empty('image', 'No images yet', 'Write a prompt and press Generate. Your results appear here.')));
    return;
  }
  // A redraw replaces the buttons; focus that was in the gallery goes to the newest result's Edit.
  const hadFocus = gallery.contains(document.activeElement);
  gallery.className = 'gallery';
  gallery.replaceChildren(...results.map((r) => {
    const countdown = h('span', { class: 'expiry', 'data-expires': r.meta.expires_at || '' });
    const name = `${r.meta.model_used}-${r.meta.transaction_id || 'image'}-${r.index + 1}.png`;
    const download = h('a', { class: 'btn btn-ghost btn-sm', href: r.url, download: name }, 'Download');
    const editButton = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'edit', disabled: running || !editable }, 'Edit');
    editButton.addEventListener('click', () => onEdit(r, editButton));
    // The transparency checkerboard only goes behind an image that has transparent pixels.
    const frame = h('div', { class: `frame${r.background === 'transparent' ? ' alpha' : ''}` });
    const img = h('img', { src: r.url, alt: r.revised_prompt || r.prompt, loading: 'lazy' });
    if (r.background !== 'transparent') img.addEventListener('load', () => frame.classList.toggle('alpha', hasAlpha(img)), { once: true });
    frame.append(img);
    const cost = r.meta.using_byok ? 'your key' : `${credits(r.meta.cost_incurred / r.meta.images_generated)} cr`;
    return h('article', { class: 'shot', 'data-history-id': r.historyId || null },
      frame,
      h('div', { class: 'body' },
        h('p', { class: 'prompt', title: r.revised_prompt || r.prompt }, r.edit ? h('span', { class: 'badge' }, 'Edit') : null, ' ', r.revised_prompt || r.prompt),
        h('div', { class: 'meta' }, h('span', {}, `${r.meta.model_used} · ${r.meta.size.replace('x', '×')}`), h('span', {}, cost)),
        h('div', { class: 'meta' }, h('div', { class: 'actions' }, download, editButton), countdown)));
  }));
  tickCountdowns(gallery);
  if (hadFocus) gallery.querySelector('[data-testid=edit]')?.focus();
}

/** Updates every card's "Link expires in" line; an expired card loses its download and edit. */
export function tickCountdowns(gallery) {
  const now = Date.now() / 1000;
  gallery.querySelectorAll('.expiry').forEach((el) => {
    const at = Number(el.dataset.expires);
    if (!at) { el.textContent = ''; return; }
    const left = at - now;
    const shot = el.closest('.shot');
    if (left <= 0) {
      el.textContent = 'Link expired';
      el.classList.add('expired');
      const a = shot.querySelector('a[download]');
      if (a) { a.removeAttribute('href'); a.setAttribute('aria-disabled', 'true'); }
      const e = shot.querySelector('[data-testid=edit]');
      if (e) e.disabled = true;
    } else {
      el.textContent = `Link expires in ${clock(left)}`;
      el.title = `The download link expires at ${new Date(at * 1000).toLocaleTimeString()}`;
    }
  });
}

const clock = (seconds) => {
  const s = Math.floor(seconds), hrs = Math.floor(s / 3600), min = Math.floor((s % 3600) / 60), sec = s % 60;
  const mmss = `${String(min).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  return hrs ? `${hrs}:${mmss}` : mmss;
};

/**
 * Cards at the top of the gallery that show a stream's previews, then its images, until the
 * gallery is redrawn. `empty` says the gallery shows no results yet (its placeholder goes).
 */
export function liveCards(gallery, info, { partials, empty: isEmpty, dataUrl, onRemove }) {
  const cards = Array.from({ length: info.n }, (_, i) => {
    const frame = h('div', { class: 'frame' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }));
    const state = h('span', { class: 'live-state' }, 'Waiting for a preview…');
    const card = h('article', { class: 'shot pending', id: `live-${i}`, 'data-testid': 'live', 'aria-busy': 'true' },
      frame, h('div', { class: 'body' }, h('p', { class: 'prompt' }, info.prompt), h('div', { class: 'meta' }, state)));
    return { card, frame, state };
  });
  if (isEmpty) gallery.replaceChildren();
  gallery.className = 'gallery';
  gallery.prepend(...cards.map((c) => c.card));
  let next = 0;
  return {
    partial(e) {
      const c = cards[next];
      if (!c) return;
      const index = Number(e.partial_image_index) || 0;
      c.frame.replaceChildren(h('img', { src: dataUrl(e), alt: `Preview ${index + 1}: ${info.prompt}`, 'data-testid': 'partial', 'data-index': index }));
      c.state.textContent = `Preview ${index + 1} of ${partials}…`;
    },
    complete(e) {
      const c = cards[next++];
      if (!c) return;
      c.frame.replaceChildren(h('img', { src: e.url || dataUrl(e), alt: info.prompt, 'data-testid': 'final' }));
      c.state.textContent = 'Finished';
      c.card.removeAttribute('aria-busy');
    },
    remove() { cards.forEach((c) => c.card.remove()); onRemove(); },
  };
}
