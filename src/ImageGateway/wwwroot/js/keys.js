import { api, session } from './api.js';
import { h, empty, alertBox, pageHead, field, secretBox, confirmDialog, toast, day, errorText, busy } from './ui.js';

export function keysPage(main, app) {
  const name = h('input', { name: 'name', maxlength: 100, placeholder: 'e.g. production server', autocomplete: 'off' });
  const expires = h('input', { name: 'expires_in_days', type: 'number', min: 1, max: 3650, placeholder: 'Never', inputmode: 'numeric' });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'key-create' }, 'Create key');
  const created = h('div', { id: 'key-created' });
  const form = h('form', { class: 'inline-form', id: 'key-form' },
    field('key-name', 'Name', name), field('key-expires', 'Expires in days', expires), createBtn);
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));

  main.append(pageHead('API keys', 'Keys for your apps. Each key acts for your account and spends your credits.'),
    h('section', { class: 'card' }, h('h2', {}, 'Create a key'), form, created),
    h('section', { class: 'card', 'aria-labelledby': 'keys-title' }, h('div', { class: 'card-head' }, h('h2', { id: 'keys-title' }, 'Your keys')), list));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(createBtn, async () => {
      const body = { name: name.value.trim() || null };
      if (expires.value) body.expires_in_days = Number(expires.value);
      try {
        const k = await api('/api/v1/keys', { method: 'POST', body });
        created.dataset.keyId = k.id;
        created.replaceChildren(alertBox('ok', 'Copy your new key now',
          'This is the only time the full key is shown. Store it somewhere safe.', secretBox(k.key, 'the new API key')));
        name.value = '';
        expires.value = '';
        load();
      } catch (err) {
        created.replaceChildren(alertBox('bad', 'Could not create the key', errorText(err)));
      }
    });
  });

  async function load() {
    try {
      const res = await api('/api/v1/keys');
      render(res.data);
    } catch (err) {
      list.replaceChildren(alertBox('bad', 'Could not load your keys', errorText(err)));
    }
  }

  function render(keys) {
    if (!keys.length) { list.replaceChildren(empty('key', 'No keys yet', 'Create one above.')); return; }
    const mine = session.key || '';
    list.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'keys' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Key'), h('th', {}, 'Scope'), h('th', {}, 'Created'), h('th', {}, 'Expires'), h('th', {}, 'Status'), h('th', {}))),
      h('tbody', {}, keys.map((k) => {
        const bare = k.prefix.replace(/(…|\.\.\.)$/, '');
        const current = mine.startsWith(bare) && k.active;
        const status = k.revoked_at ? h('span', { class: 'badge badge-muted' }, 'Revoked')
          : k.active ? h('span', { class: 'badge badge-ok' }, 'Active') : h('span', { class: 'badge badge-warn' }, 'Expired');
        const revoke = k.active ? h('button', { type: 'button', class: 'btn btn-danger btn-sm', 'aria-label': `Revoke ${k.name || k.prefix}` }, 'Revoke') : null;
        revoke?.addEventListener('click', async () => {
          const ok = await confirmDialog('Revoke this key?',
            h('p', {}, 'Apps using ', h('code', {}, `${bare}…`), ' will stop working immediately. This cannot be undone.',
              current ? h('strong', { class: 'note-line' }, 'This is the key you are signed in with: you will be signed out.') : null),
            'Revoke key', true);
          if (!ok) return;
          try {
            await api(`/api/v1/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
            toast('Key revoked');
            // A revoked key's secret is of no use to anyone: it leaves the screen with the key.
            if (created.dataset.keyId === k.id) { created.replaceChildren(); delete created.dataset.keyId; }
            if (current) { app.signOut('You revoked the key you were signed in with.'); return; }
            load();
          } catch (err) { toast(errorText(err), true); }
        });
        return h('tr', { 'data-key-id': k.id },
          h('td', {}, k.name || h('span', { class: 'muted' }, 'Unnamed'), current ? h('span', { class: 'badge badge-after' }, 'this session') : null),
          h('td', {}, h('code', { class: 'key-prefix' }, `${bare}…`)),
          h('td', {}, k.scope),
          h('td', {}, day(k.created_at)),
          h('td', {}, k.expires_at ? day(k.expires_at) : h('span', { class: 'muted' }, 'Never')),
          h('td', {}, status),
          h('td', { class: 'num' }, revoke));
      })))));
  }

  load();
}
