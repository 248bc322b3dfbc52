import { apiResponse, llm } from './api.js';
import { h, field, alertBox, errorText, hasAlpha } from './ui.js';

/**
 * The image editor: the picture on a canvas, a brush that paints the mask over it, a prompt and a
 * model. Apply posts /images/edits; once the gateway accepts (the stream has started, or the JSON
 * answer is in), the dialog closes and `onAccepted(response, info)` shows the answer like a
 * generation. Errors before that stay in the dialog, so the mask is not lost.
 */
export function openEditor({ result, models, canStream, partials, opener, explain, onAccepted }) {
  const picture = h('canvas', { id: 'editor-image', class: 'editor-image', 'aria-hidden': 'true' });
  const overlay = h('canvas', { id: 'editor-mask', class: 'editor-mask', role: 'img', 'aria-label': 'Mask: paint over the parts to change' });
  const frame = h('div', { class: 'editor-canvas' }, picture, overlay);
  const stage = h('div', { class: 'editor-stage' }, frame);
  const loading = h('div', { class: 'editor-loading muted' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading the image…');
  stage.append(loading);

  const brush = h('input', { id: 'editor-brush', type: 'range', min: 2, max: 200, value: 40, step: 1 });
  const brushValue = h('output', { for: 'editor-brush', class: 'mono small' }, '40 px');
  const clear = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', id: 'editor-clear', disabled: true }, 'Clear mask');
  const prompt = h('textarea', { rows: 3, required: true, autofocus: true, placeholder: 'Replace the sky with a starry night' });
  const model = h('select', {});
  model.replaceChildren(...models.map((m) => h('option', { value: m.id }, m.available ? m.id : `${m.id} (unavailable)`)));
  model.value = models.some((m) => m.id === 'builtin-preview') ? 'builtin-preview' : (models.find((m) => m.id === result.meta.model_used) || models[0]).id;
  const facts = h('p', { class: 'hint', id: 'editor-facts' }, 'Paint over what should change. Without a mask the whole image may change.');
  const problem = h('div', { id: 'editor-error', 'aria-live': 'polite' });
  const apply = h('button', { type: 'submit', class: 'btn btn-primary', id: 'editor-apply', disabled: true }, 'Apply edit');
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost', id: 'editor-cancel' }, 'Cancel');

  const form = h('form', { class: 'editor', novalidate: true },
    stage,
    h('div', { class: 'editor-side' },
      h('div', { class: 'field' }, h('label', { for: 'editor-brush' }, 'Brush size'), h('div', { class: 'brush' }, brush, brushValue)),
      h('div', { class: 'field' }, clear),
      field('editor-prompt', 'Describe the change', prompt),
      field('editor-model', 'Edit model', model),
      facts, problem,
      h('div', { class: 'dialog-actions' }, apply, cancel)));
  const dialog = h('dialog', { class: 'dialog editor-dialog', id: 'editor', 'aria-labelledby': 'editor-title', 'data-testid': 'editor' },
    h('h2', { id: 'editor-title' }, 'Edit image'),
    h('p', { class: 'muted small editor-source', title: result.prompt }, result.revised_prompt || result.prompt),
    form);

  const ctx = overlay.getContext('2d', { willReadFrequently: true });
  let source = null;
  let painted = false;
  let last = null;
  let pending = null;

  function update() {
    clear.disabled = !painted;
    brushValue.textContent = `${brush.value} px`;
  }

  async function load() {
    try {
      const response = await fetch(result.url);
      if (!response.ok) throw new Error(response.status === 410 ? 'The image link has expired.' : `Could not load the image (HTTP ${response.status}).`);
      source = await response.blob();
      const bitmap = await createImageBitmap(source);
      picture.width = overlay.width = bitmap.width;
      picture.height = overlay.height = bitmap.height;
      picture.getContext('2d').drawImage(bitmap, 0, 0);
      stage.classList.toggle('alpha', hasAlpha(picture));
      frame.style.aspectRatio = `${bitmap.width} / ${bitmap.height}`;
      frame.style.width = `min(100%, ${(68 * bitmap.width / bitmap.height).toFixed(2)}vh)`;
      // A brush a sixteenth of the image's long side is a useful start at any size.
      const side = Math.max(bitmap.width, bitmap.height);
      brush.max = Math.max(8, Math.round(side / 4));
      brush.value = Math.max(2, Math.round(side / 16));
      facts.textContent = `${bitmap.width} × ${bitmap.height}. Paint over what should change; without a mask the whole image may change.`;
      loading.remove();
      dialog.dataset.ready = 'true';
      apply.disabled = false;
      update();
    } catch (err) {
      loading.replaceChildren(alertBox('bad', 'Could not open the image', errorText(err)));
    }
  }

  // Painting: the overlay holds the strokes in one opaque colour (CSS makes it translucent), so
  // every pixel it covers, edges included, becomes part of the mask.
  function point(e) {
    const r = overlay.getBoundingClientRect();
    return { x: (e.clientX - r.left) * overlay.width / r.width, y: (e.clientY - r.top) * overlay.height / r.height };
  }
  function paint(from, to) {
    ctx.fillStyle = ctx.strokeStyle = '#5b5bd6';
    ctx.lineWidth = Number(brush.value);
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    if (from === to) {
      ctx.arc(to.x, to.y, ctx.lineWidth / 2, 0, Math.PI * 2);
      ctx.fill();
    } else {
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    }
  }
  overlay.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || !source) return;
    e.preventDefault();
    overlay.setPointerCapture(e.pointerId);
    last = point(e);
    paint(last, last);
    painted = true;
    update();
  });
  overlay.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = point(e);
    paint(last, p);
    last = p;
  });
  const lift = () => { last = null; };
  overlay.addEventListener('pointerup', lift);
  overlay.addEventListener('pointercancel', lift);
  brush.addEventListener('input', update);
  clear.addEventListener('click', () => {
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    painted = false;
    update();
    prompt.focus();
  });

  /** The mask at the image's size: alpha 0 wherever the brush went, 255 everywhere else. */
  function mask() {
    const { width, height } = overlay;
    const strokes = ctx.getImageData(0, 0, width, height).data;
    const out = new ImageData(width, height);
    for (let i = 3; i < strokes.length; i += 4) out.data[i] = strokes[i] ? 0 : 255;
    const canvas = h('canvas', { width, height });
    canvas.getContext('2d').putImageData(out, 0, 0);
    return png(canvas);
  }
  const png = (canvas) => new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The browser could not encode a PNG.'))), 'image/png'));

  async function submit(event) {
    event.preventDefault();
    if (!source || pending) return;
    const text = prompt.value.trim();
    if (!text) {
      problem.replaceChildren(alertBox('bad', null, 'Describe the change first.'));
      prompt.setAttribute('aria-invalid', 'true');
      prompt.focus();
      return;
    }
    prompt.removeAttribute('aria-invalid');
    const chosen = models.find((m) => m.id === model.value);
    const stream = canStream(chosen);
    const body = new FormData();
    body.append('image', source.type === 'image/png' ? source : await png(picture), 'image.png');
    if (painted) body.append('mask', await mask(), 'mask.png');
    body.append('prompt', text);
    body.append('model', model.value);
    body.append('n', '1');
    body.append('response_format', 'url');
    if (stream) { body.append('stream', 'true'); body.append('partial_images', String(partials)); }

    problem.replaceChildren();
    apply.disabled = true;
    apply.textContent = 'Applying…';
    const started = performance.now();
    pending = new AbortController();
    try {
      const response = await apiResponse(llm('/images/edits'), { method: 'POST', body, signal: pending.signal });
      pending = null;
      dialog.close();
      onAccepted(response, { prompt: text, model: model.value, n: 1, edit: true, started });
    } catch (err) {
      if (err.name === 'AbortError') return;
      problem.replaceChildren(explain(err));
    } finally {
      pending = null;
      if (dialog.open) { apply.disabled = false; apply.textContent = 'Apply edit'; }
    }
  }

  form.addEventListener('submit', submit);
  prompt.addEventListener('input', () => prompt.removeAttribute('aria-invalid'));
  prompt.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit(); });
  cancel.addEventListener('click', () => dialog.close());
  // Esc closes the modal dialog natively; closing abandons a request still waiting and gives focus back.
  dialog.addEventListener('close', () => {
    if (pending) pending.abort();
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });

  document.body.append(dialog);
  dialog.showModal();
  prompt.focus();
  load();
  return dialog;
}
