import { api } from './api.js';
import { h, empty, alertBox, field, secretBox, confirmDialog, toast, day, errorText, busy } from './ui.js';

/** The user detail's key card: the account's keys, issuing one (shown once) and revoking one. */
export function keysCard(userUrl, changed) {
  const name = h('input', { maxlength: 100, autocomplete: 'off', placeholder: 'e.g. production server' });
  const scope = h('select', {}, h('option', { value: 'user' }, 'User'), h('option', { value: 'admin' }, 'Admin (operator)'));
  const expires = h('input', { type: 'number', min: 1, max: 3650, placeholder: 'Never', inputmode: 'numeric' });
  const create = h('button', { type: 'submit', class: 'btn btn-primary', id: 'user-key-create' }, 'Issue key');
  const created = h('div', { id: 'user-key-created' });
  const form = h('form', { class: 'inline-form', id: 'user-key-form' },
    field('user-key-name', 'Name', name), field('user-key-scope', 'Scope', scope), field('user-key-expires', 'Expires in days', expires), create);
  const list = h('div', {});
  const el = h('section', { class: 'card', 'aria-labelledby': 'user-keys-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'user-keys-title' }, 'API keys')), list,
    h('h3', { class: 'subhead' }, 'Issue a key'), form, created);
  let user = null;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(create, async () => {
      const body = { name: name.value.trim() || null, scope: scope.value };
      if (expires.value) body.expires_in_days = Number(expires.value);
      try {
        const k = await api(`${userUrl}/keys`, { method: 'POST', body });
        created.dataset.keyId = k.id;
        created.replaceChildren(alertBox('ok', `A new ${k.scope} key for ${user.name}`,
          'Hand it over now: this is the only time the full key is shown.', secretBox(k.key, 'the new API key')));
        name.value = '';
        expires.value = '';
        changed();
      } catch (err) { created.replaceChildren(alertBox('bad', 'Could not issue the key', errorText(err))); }
    });
  });

  function render(detail) {
    user = detail;
    if (!user.keys.length) { list.replaceChildren(empty('key', 'No keys', 'Issue one below.')); return; }
    list.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'user-keys' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Status'), h('th', {}, 'Key'), h('th', {}, 'Scope'), h('th', {}, 'Created'), h('th', {}, 'Expires'), h('th', {}))),
      h('tbody', {}, user.keys.map(row)))));
  }

  function row(k) {
    const bare = k.prefix.replace(/(…|\.\.\.)$/, '');
    const status = k.revoked_at ? h('span', { class: 'badge badge-muted' }, 'Revoked')
      : k.active ? h('span', { class: 'badge badge-ok' }, 'Active') : h('span', { class: 'badge badge-warn' }, 'Expired');
    const revoke = k.active ? h('button', { type: 'button', class: 'btn btn-danger btn-sm', 'aria-label': `Revoke ${k.name || bare}` }, 'Revoke') : null;
    revoke?.addEventListener('click', async () => {
      const ok = await confirmDialog('Revoke this key?',
        h('p', {}, 'Apps using ', h('code', {}, `${bare}…`), ` stop working at once. ${user.name} keeps the account and its other keys. This cannot be undone.`),
        'Revoke key', true);
      if (!ok) return;
      try {
        await api(`${userUrl}/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
        toast('Key revoked');
        // A revoked key's secret is of no use to anyone: it leaves the screen with the key.
        if (created.dataset.keyId === k.id) { created.replaceChildren(); delete created.dataset.keyId; }
        changed();
      } catch (err) { toast(errorText(err), true); }
    });
    return h('tr', { 'data-key-id': k.id, 'data-active': String(k.active) },
      h('td', {}, k.name || h('span', { class: 'muted' }, 'Unnamed')),
      // Status second: on a phone it shows before the table scrolls.
      h('td', {}, status),
      h('td', {}, h('code', { class: 'key-prefix' }, `${bare}…`)),
      h('td', {}, k.scope === 'admin' ? h('span', { class: 'badge badge-warn' }, 'admin') : k.scope),
      h('td', { class: 'nowrap' }, day(k.created_at)),
      h('td', { class: 'nowrap' }, k.expires_at ? day(k.expires_at) : h('span', { class: 'muted' }, 'Never')),
      h('td', { class: 'num' }, revoke));
  }

  return { el, render };
}
