import { api, llm } from './api.js';
import { h, alertBox, pageHead, confirmDialog, toast, when, errorText, busy } from './ui.js';

const providers = [
  { id: 'openai', name: 'OpenAI', hint: 'Starts with sk-', models: 'gpt-image-2 (and the retired DALL·E and gpt-image-1 names it now serves)' },
  { id: 'openrouter', name: 'OpenRouter', hint: 'Starts with sk-or-', models: 'Every model routed through OpenRouter' },
  { id: 'stability', name: 'Stability AI', hint: 'Starts with sk-', models: 'stable-diffusion-xl, stable-diffusion-3' },
];

/** A provider id as people read it: "OpenAI" for openai. */
export const providerName = (id) => (providers.find((p) => p.id === id) || {}).name || (id ? id[0].toUpperCase() + id.slice(1) : 'own');

export function byokPage(main) {
  // The last message of each card, kept across reloads so one result stays until the next action replaces it.
  const notes = new Map();
  const grid = h('div', { class: 'providers' }, h('p', { class: 'muted' }, 'Loading…'));
  main.append(pageHead('Your provider keys', 'Bring your own provider key: requests it can serve are billed by the provider, not in credits. Keys are encrypted at rest and never shown again.'), grid);

  async function load() {
    try {
      const res = await api(llm('/byok/keys'));
      render(res.data);
    } catch (err) {
      grid.replaceChildren(alertBox('bad', 'Could not load your provider keys', errorText(err)));
    }
  }

  function render(keys) {
    grid.replaceChildren(...providers.map((p) => card(p, keys.find((k) => k.provider === p.id))));
  }

  function card(p, stored) {
    const note = h('div', { 'aria-live': 'polite', 'data-testid': `byok-${p.id}-note` });
    const say = (message) => { notes.set(p.id, message); note.replaceChildren(...(message ? [message] : [])); };
    if (notes.get(p.id)) note.replaceChildren(notes.get(p.id));
    const section = h('section', { class: 'card provider', 'data-provider': p.id, 'aria-labelledby': `byok-${p.id}-title` });
    const title = h('h2', { id: `byok-${p.id}-title` }, p.name,
      stored ? h('span', { class: `badge ${stored.enabled ? 'badge-ok' : 'badge-muted'}` }, stored.enabled ? 'In use' : 'Disabled') : h('span', { class: 'badge badge-muted' }, 'Not set'));
    const input = h('input', { id: `byok-${p.id}-key`, type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: p.hint });
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, stored ? 'Replace' : 'Save key');
    const form = h('form', { class: 'inline-form' },
      h('div', { class: 'field' }, h('label', { for: input.id }, stored ? 'Replace with a new key' : 'API key'), input), save);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!input.value.trim()) { say(alertBox('bad', null, 'Paste the key first.')); input.focus(); return; }
      busy(save, async () => {
        try {
          await api(llm('/byok/keys'), { method: 'POST', body: { provider: p.id, api_key: input.value.trim() } });
          input.value = '';
          say(null);
          toast(`${p.name} key saved`);
          load();
        } catch (err) { say(alertBox('bad', 'The key was not saved', errorText(err))); }
      });
    });

    section.append(title, h('p', { class: 'muted small' }, p.models));
    if (stored) {
      const toggle = h('input', { type: 'checkbox', role: 'switch', checked: stored.enabled, id: `byok-${p.id}-enabled` });
      toggle.addEventListener('change', async () => {
        toggle.disabled = true;
        try {
          await api(llm(`/byok/keys/${p.id}/toggle`), { method: 'POST', body: { enabled: toggle.checked } });
          toast(toggle.checked ? `${p.name} key enabled` : `${p.name} key disabled`);
          say(null);
          load();
        } catch (err) { toggle.checked = !toggle.checked; toggle.disabled = false; say(alertBox('bad', null, errorText(err))); }
      });
      const test = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, 'Test');
      test.addEventListener('click', () => busy(test, async () => {
        say(h('p', { class: 'muted small' }, `Asking ${p.name}…`));
        try {
          const r = await api(llm(`/byok/keys/${p.id}/test`), { method: 'POST' });
          // One verdict: the upstream's own words under a title that cannot contradict them. A key the
          // upstream accepted but the check could not prove is "not verified", not "refused".
          const accepted = r.status >= 200 && r.status < 300;
          say(r.ok ? alertBox('ok', 'The key works', r.message)
            : accepted ? alertBox('warn', 'The key could not be verified', r.message)
              : alertBox('bad', 'The key was refused', r.message));
          // The test may have switched the key off: show the state it left, with the verdict kept.
          if (!r.ok) load();
        } catch (err) {
          say(alertBox(err.status === 429 ? 'warn' : 'bad', 'The test did not run', errorText(err)));
        }
      }));
      const remove = h('button', { type: 'button', class: 'btn btn-danger btn-sm' }, 'Delete');
      remove.addEventListener('click', async () => {
        if (!await confirmDialog(`Delete your ${p.name} key?`, 'Requests will be billed in credits again.', 'Delete key', true)) return;
        try {
          await api(llm(`/byok/keys/${p.id}`), { method: 'DELETE' });
          toast(`${p.name} key deleted`);
          say(null);
          load();
        } catch (err) { say(alertBox('bad', null, errorText(err))); }
      });
      section.append(
        h('div', { class: 'field' }, h('label', {}, 'Stored key'), h('code', { class: 'masked', 'data-testid': `byok-${p.id}-masked` }, stored.masked_key),
          h('div', { class: 'hint' }, `Updated ${when(stored.updated_at)}`)),
        h('div', { class: 'card-head' }, h('label', { class: 'switch', for: toggle.id }, toggle, 'Use this key'), h('div', { class: 'actions' }, test, remove)));
    }
    section.append(form, note);
    return section;
  }

  load();
}
