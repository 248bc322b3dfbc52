import { api, apiResponse, llm, streamError, ApiError } from './api.js';
import { readEvents } from './sse.js';
import { providerName } from './byok.js';
import { openEditor } from './editor.js';
import { renderResults, tickCountdowns, liveCards as showLive, recentResults } from './gallery.js';
import { h, alertBox, empty, pageHead, field, credits, duration, errorText, qualityLabel } from './ui.js';

// Kept across page switches within the tab so going to Credits and back keeps the gallery.
const kept = { results: [], form: null, loaded: false };

/**
 * How another page (the history's "re-run" and "edit") opens this one: set `form` to
 * { prompt, model, n, size, quality, style } to fill the form (nothing is sent: the price shows
 * first), or `edit` to { url, prompt, meta: { model_used } } to open that image in the editor,
 * then go to #/generate. Each is used once.
 */
export const handoff = { form: null, edit: null };

/** Previews asked for when streaming (OpenAI allows 0–3). */
const PARTIALS = 2;

/** Whether a catalog model streams partial images: its own flag when the catalog has one, else the models known to. */
export function canStream(m) {
  if (!m) return false;
  return typeof m.streaming === 'boolean' ? m.streaming : m.id === 'builtin-preview' || m.family === 'gpt-image';
}

/** Whether a catalog model takes /images/edits, by the same rule as canStream. */
export function canEdit(m) {
  if (!m) return false;
  return typeof m.edits === 'boolean' ? m.edits : m.id === 'builtin-preview' || m.family === 'gpt-image';
}

const dataUrl = (e) => `data:image/${e.output_format || 'png'};base64,${e.b64_json}`;

export function generatePage(main, app) {
  let models = [];
  let estimate = null;
  let estimateSeq = 0;
  let estimateTimer = null;
  let running = false;
  /** Until when (ms) a 429 keeps Generate disabled: the window the limit counts must free first. */
  let blockedUntil = 0;
  const timers = new Set();

  const prompt = h('textarea', { name: 'prompt', rows: 4, placeholder: 'A lighthouse on a cliff at dawn, watercolor', required: true });
  const model = h('select', { name: 'model' });
  const size = h('select', { name: 'size' });
  const quality = h('select', { name: 'quality' });
  const style = h('select', { name: 'style' });
  const n = h('input', { name: 'n', type: 'number', min: 1, max: 10, value: 1, inputmode: 'numeric' });
  const styleField = field('style', 'Style', style);
  const qualityField = field('quality', 'Quality', quality);
  const estimateBox = h('div', { class: 'estimate', 'data-testid': 'estimate', 'aria-live': 'polite' }, h('span', { class: 'muted' }, 'Calculating the price…'));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-lg btn-block', id: 'generate-btn', disabled: true }, 'Generate');
  const status = h('div', { id: 'gen-status' });
  const gallery = h('div', { id: 'gallery' });
  const promptCount = h('span', { class: 'muted small' });

  const form = h('form', { class: 'card', id: 'generate-form', novalidate: true },
    field('prompt', 'Prompt', prompt),
    h('div', { class: 'hint prompt-hint' }, h('span', {}, 'Ctrl + Enter generates'), promptCount),
    field('model', 'Model', model),
    h('div', { class: 'row' }, field('size', 'Size', size), qualityField),
    h('div', { class: 'row' }, styleField, field('n', 'Images', n)),
    estimateBox,
    submit);

  main.append(
    pageHead('Generate', 'Create images with any model your key can use. You see the exact price before you spend anything.'),
    h('div', { class: 'grid-gen' }, form, h('section', { 'aria-labelledby': 'results-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'results-title' }, 'Results')),
      status, gallery)));

  const current = () => models.find((m) => m.id === model.value);

  function fill(select, values, selected, labels = (v) => v) {
    select.replaceChildren(...values.map((v) => h('option', { value: v }, labels(v))));
    if (values.includes(selected)) select.value = selected;
  }

  function applyModel(keep = {}) {
    const m = current();
    if (!m) return;
    fill(size, m.sizes, keep.size || (m.sizes.includes('1024x1024') ? '1024x1024' : m.sizes[0]), (v) => v.replace('x', ' × '));
    fill(quality, m.qualities, keep.quality || m.default_quality, qualityLabel);
    qualityField.hidden = m.qualities.length === 0;
    style.replaceChildren(h('option', { value: '' }, 'Default'), ...m.styles.map((s) => h('option', { value: s }, s[0].toUpperCase() + s.slice(1))));
    if (keep.style && m.styles.includes(keep.style)) style.value = keep.style;
    styleField.hidden = m.styles.length === 0;
    n.max = m.max_n;
    if (Number(n.value) > m.max_n) n.value = m.max_n;
    prompt.maxLength = m.max_prompt_length;
    updateCount();
  }

  function updateCount() {
    const m = current();
    promptCount.textContent = m ? `${prompt.value.length} / ${m.max_prompt_length}` : '';
  }

  /** Why the image count is not one the model takes (0 included: the gateway refuses it too), or null. */
  function countProblem() {
    const m = current();
    const max = m ? m.max_n : 10;
    const value = n.value.trim() === '' ? NaN : Number(n.value);
    return Number.isInteger(value) && value >= 1 && value <= max ? null : `Choose between 1 and ${max} image${max > 1 ? 's' : ''}.`;
  }

  function body() {
    const b = { prompt: prompt.value.trim(), model: model.value, n: Number(n.value), size: size.value };
    if (!qualityField.hidden && quality.value) b.quality = quality.value;
    if (!styleField.hidden && style.value) b.style = style.value;
    return b;
  }

  function scheduleEstimate() {
    kept.form = { ...body(), prompt: prompt.value };
    clearTimeout(estimateTimer);
    // An error about the previous form goes as soon as the form changes.
    if (estimateBox.querySelector('[data-testid=estimate-error]')) {
      estimate = null;
      estimateBox.replaceChildren(h('span', { class: 'muted' }, 'Calculating the price…'));
      updateButton();
    }
    if (countProblem()) { runEstimate(); return; }
    estimateBox.dataset.pending = 'true';
    estimateTimer = setTimeout(runEstimate, 200);
  }

  async function runEstimate() {
    // A direct run reads the form as it is now, so a delayed one still due is not needed (and must
    // not be forgotten while it could still change the quote: `settled` trusts estimateTimer).
    clearTimeout(estimateTimer);
    estimateTimer = null;
    const seq = ++estimateSeq;
    estimateBox.dataset.pending = 'true';
    const problem = countProblem();
    if (problem) {
      n.setAttribute('aria-invalid', 'true');
      estimate = null;
      estimateBox.replaceChildren(h('span', { class: 'short', 'data-testid': 'estimate-error', id: 'n-error' }, problem));
      n.setAttribute('aria-describedby', 'n-error');
      updateButton();
      settled();
      return;
    }
    n.removeAttribute('aria-describedby');
    n.removeAttribute('aria-invalid');
    const b = body();
    // The price does not depend on the words, so an empty prompt still gets a quote.
    if (!b.prompt) b.prompt = 'price check';
    try {
      const e = await api(llm('/image/estimate'), { method: 'POST', body: b });
      if (seq !== estimateSeq) return;
      estimate = e;
      renderEstimate();
      settled();
    } catch (err) {
      if (seq !== estimateSeq) return;
      estimate = null;
      estimateBox.replaceChildren(h('span', { class: 'short', 'data-testid': 'estimate-error' }, errorText(err)));
      updateButton();
      settled();
    }
  }

  // Marks a quote that matches the form, so nobody (people or tests) acts on a stale one.
  function settled() {
    if (!estimateTimer) delete estimateBox.dataset.pending;
  }

  function renderEstimate() {
    const e = estimate;
    // A per-token model is charged the tokens its answer reports: the estimate is "about", the hold "at most".
    const perToken = e.pricing === 'per_token';
    const after = e.available - e.max_cost;
    const unavailable = !e.provider_available;
    if (e.using_byok) {
      // The caller's own key serves it: nothing is held or charged, whatever the balance.
      estimateBox.replaceChildren(
        h('div', { class: 'line total' }, h('span', { id: 'estimate-byok' }, `Your ${providerName(e.byok_provider)} key`),
          h('span', { id: 'estimate-cost', 'data-value': 0 }, '0 credits')),
        h('div', { class: 'muted small', id: 'estimate-note' },
          `Billed by ${providerName(e.byok_provider)} to your own key. On the platform's providers it would cost ${credits(e.platform_cost)} credits.`));
      updateButton();
      return;
    }
    estimateBox.replaceChildren(...[
      h('div', { class: 'line' }, h('span', {}, `${e.n} × ${perToken ? 'about ' : ''}${credits(e.unit_cost)} credits`), h('span', { class: 'muted' }, `${e.tier.replace('_', ' ')} tier`)),
      h('div', { class: 'line total' }, h('span', {}, perToken ? 'About' : 'Estimated cost'),
        h('span', { id: 'estimate-cost', 'data-value': e.estimated_cost }, `${credits(e.estimated_cost)} credits`)),
      perToken ? h('div', { class: 'line' }, h('span', {}, 'At most'), h('span', { id: 'estimate-max', 'data-value': e.max_cost }, `${credits(e.max_cost)} credits`)) : null,
      perToken ? h('div', { class: 'muted small', id: 'estimate-note' }, 'Priced by the tokens the answer reports; the most it can cost is held and the rest given back.') : null,
      h('div', { class: 'line' }, h('span', {}, perToken ? 'Balance after, at worst' : 'Balance after'),
        h('span', { id: 'estimate-after', class: e.sufficient ? '' : 'short' }, e.sufficient ? `${credits(after)} credits` : `${credits(e.available)} available`)),
      e.sufficient ? null : h('div', { class: 'short small', id: 'estimate-short' },
        `Not enough credits: this needs ${credits(e.max_cost - e.available)} more. `, h('a', { href: '#/usage' }, 'See your credits')),
      unavailable ? h('div', { class: 'short small', id: 'estimate-unavailable' }, `${model.value} is not available here right now.`) : null].filter(Boolean));
    updateButton();
  }

  function updateButton() {
    const wait = Math.ceil((blockedUntil - Date.now()) / 1000);
    submit.disabled = running || wait > 0 || !estimate || !estimate.sufficient || !estimate.provider_available;
    submit.textContent = running ? 'Generating…' : wait > 0 ? `Try again in ${duration(wait)}`
      : estimate && estimate.n > 1 ? `Generate ${estimate.n} images` : 'Generate';
    const editable = models.some(canEdit);
    gallery.querySelectorAll('[data-testid=edit]').forEach((b) => {
      b.disabled = running || !editable || b.closest('.shot').querySelector('.expiry.expired') !== null;
    });
  }

  function explain(err) {
    const retry = err.retryAfter ? ` You can try again in ${duration(err.retryAfter)} (at ${new Date(Date.now() + err.retryAfter * 1000).toLocaleTimeString()}).` : '';
    switch (err.status) {
      case 402:
        return alertBox('bad', 'Not enough credits', `${err.message}. Nothing was charged. `, h('a', { href: '#/usage' }, 'Review your credits and usage'));
      case 429:
        return err.code === 'monthly_cap_exceeded'
          ? alertBox('warn', 'Monthly spending cap reached', `${err.message}${retry}`)
          : alertBox('warn', 'Slow down: rate limit reached', `${err.message.replace(/ Retry after \d+ s\.$/, '')}. Your plan counts images, not requests.${retry}`);
      case 400:
        if (err.code === 'content_policy_violation') return alertBox('bad', 'The prompt was refused', `${err.message} Try rewording it.`);
        return alertBox('bad', 'Please check the request', err.message);
      case 503: return alertBox('bad', 'This model is unavailable', err.message);
      case 502: case 504: return alertBox('bad', 'The image provider failed', err.message);
      case 401: return alertBox('bad', 'Signed out', 'Your key is no longer valid.');
      default: return alertBox('bad', 'Generation failed', errorText(err));
    }
  }

  async function generate(event) {
    event.preventDefault();
    if (running) return;
    const b = body();
    const problem = countProblem();
    if (problem) {
      status.replaceChildren(alertBox('bad', null, problem));
      n.setAttribute('aria-invalid', 'true');
      n.focus();
      return;
    }
    if (!b.prompt) {
      status.replaceChildren(alertBox('bad', null, 'Describe the image you want first.'));
      prompt.setAttribute('aria-invalid', 'true');
      prompt.focus();
      return;
    }
    prompt.removeAttribute('aria-invalid');
    const request = { ...b, response_format: 'url' };
    if (canStream(current())) Object.assign(request, { stream: true, partial_images: PARTIALS });
    const err = await run({ ...b, started: performance.now() }, () => apiResponse(llm('/image/generations'), { method: 'POST', body: request }));
    if (err && err.param) {
      const control = { prompt, model, size, quality, style, n }[err.param];
      if (control) { control.setAttribute('aria-invalid', 'true'); control.focus(); }
    }
  }

  /** An edit the editor had accepted: its answer is shown like a generation's. */
  function edited(response, info) {
    run(info, async () => response);
  }

  /**
   * Sends (or takes) one request, shows its progress, previews and results, and returns the
   * error it ended with, if any. `info` is { prompt, model, n, started, edit? }.
   */
  async function run(info, send) {
    running = true;
    updateButton();
    const elapsed = h('span', { id: 'elapsed', class: 'mono' }, '0.0 s');
    const what = info.edit ? `Editing the image with ${info.model}… ` : `Generating ${info.n} image${info.n > 1 ? 's' : ''} with ${info.model}… `;
    status.replaceChildren(h('div', { class: 'progress', role: 'status', id: 'progress' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      h('div', { class: 'grow' }, h('div', {}, what, elapsed), h('div', { class: 'bar' }))));
    const seconds = () => ((performance.now() - info.started) / 1000).toFixed(1);
    const tick = setInterval(() => { elapsed.textContent = `${seconds()} s`; }, 100);
    timers.add(tick);
    let live = null;
    try {
      const response = await send();
      live = liveCards(info);
      const { images, meta } = await deliver(response, live);
      kept.results.unshift(...images.map((d, i) => ({ ...d, prompt: info.prompt, meta, index: i, edit: !!info.edit })));
      kept.results.splice(24);
      status.replaceChildren(alertBox('ok', null, h('span', { id: 'gen-done', 'data-cost': meta.cost_incurred },
        `${meta.images_generated} image${meta.images_generated > 1 ? 's' : ''} in ${seconds()} s · ${meta.using_byok ? 'billed to your own key' : `${credits(meta.cost_incurred)} credits`} · ${credits(meta.credits_remaining)} left`)));
      app.setBalance(meta.credits_remaining);
      renderGallery();
      return null;
    } catch (err) {
      if (live) live.remove();
      status.replaceChildren(explain(err));
      if (err.status === 429 && err.retryAfter) holdFor(err.retryAfter);
      return err;
    } finally {
      clearInterval(tick);
      timers.delete(tick);
      running = false;
      updateButton();
      runEstimate();
    }
  }

  /** The images and _metadata of an answer: a JSON body as before, or a stream whose previews go to `live`. */
  async function deliver(response, live) {
    if (!(response.headers.get('Content-Type') || '').includes('text/event-stream')) {
      const res = await response.json();
      return { images: res.data.map(({ b64_json, ...d }) => (d.url ? d : { ...d, url: dataUrl({ b64_json }) })), meta: res._metadata };
    }
    const images = [];
    let meta = null;
    for await (const { event, data } of readEvents(response)) {
      if (event === 'error') throw streamError(data);
      if (event.endsWith('.partial_image')) live.partial(data);
      else if (event.endsWith('.completed')) {
        images.push({ url: data.url || dataUrl(data) });
        meta = data._metadata || meta;
        live.complete(data);
      }
    }
    if (!images.length || !meta) throw new ApiError(502, { error: { message: 'The stream ended before the image was finished.' } }, null);
    return { images, meta };
  }

  /** Keeps Generate disabled, counting down, until a rate-limit window frees. */
  function holdFor(seconds) {
    blockedUntil = Date.now() + seconds * 1000;
    const tick = setInterval(() => {
      updateButton();
      if (Date.now() >= blockedUntil) { clearInterval(tick); timers.delete(tick); }
    }, 1000);
    timers.add(tick);
    updateButton();
  }

  function liveCards(info) {
    return showLive(gallery, info, { partials: PARTIALS, empty: !kept.results.length, dataUrl, onRemove: () => { if (!kept.results.length) renderGallery(); } });
  }

  function edit(result, opener) {
    openEditor({ result, models: models.filter(canEdit), canStream, partials: PARTIALS, opener, explain, onAccepted: edited });
  }

  function renderGallery() {
    renderResults(gallery, kept.results, { running, editable: models.some(canEdit), onEdit: edit });
  }
  const countdownTimer = setInterval(() => tickCountdowns(gallery), 1000);
  timers.add(countdownTimer);

  model.addEventListener('change', () => { applyModel({ size: size.value, quality: quality.value, style: style.value }); scheduleEstimate(); });
  [size, quality, style].forEach((s) => s.addEventListener('change', scheduleEstimate));
  n.addEventListener('input', scheduleEstimate);
  prompt.addEventListener('input', () => { prompt.removeAttribute('aria-invalid'); updateCount(); scheduleEstimate(); });
  prompt.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit(); });
  form.addEventListener('submit', generate);

  renderGallery();
  // The gallery of a new tab starts from the caller's history, so a reload keeps the images.
  if (!kept.loaded) {
    kept.loaded = true;
    recentResults().then((recent) => {
      if (kept.results.length || !recent.length || !gallery.isConnected) return;
      kept.results.push(...recent);
      renderGallery();
    });
  }
  api(llm('/image/models')).then((res) => {
    models = res.data;
    if (!models.length) {
      form.replaceChildren(empty('image', 'No models available', 'Ask your operator to configure a model.'));
      return;
    }
    const saved = handoff.form ? { ...handoff.form } : kept.form;
    if (handoff.form) kept.form = saved;
    handoff.form = null;
    // A model nobody can serve for this caller is listed (so its absence is explained) but cannot be picked.
    model.replaceChildren(...models.map((m) => h('option', { value: m.id, disabled: !m.usable },
      !m.usable ? `${m.id} (not available here)` : m.byok_provider ? `${m.id} · your ${providerName(m.byok_provider)} key` : m.id)));
    const preferred = saved && models.some((m) => m.id === saved.model && m.usable) ? saved.model
      : (models.find((m) => m.usable) || models[0]).id;
    model.value = preferred;
    applyModel(saved || {});
    if (saved) { prompt.value = saved.prompt || ''; n.value = saved.n || 1; updateCount(); }
    runEstimate();
    if (handoff.edit) {
      const source = handoff.edit;
      handoff.edit = null;
      if (models.some(canEdit)) edit(source, submit);
      else status.replaceChildren(alertBox('bad', null, 'No model here can edit images right now.'));
    }
  }).catch((err) => {
    form.replaceChildren(alertBox('bad', 'Could not load the models', errorText(err)));
  });

  return () => { timers.forEach(clearInterval); clearTimeout(estimateTimer); estimateSeq++; };
}
