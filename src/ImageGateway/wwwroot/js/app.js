import { api, llm, session, ApiError } from './api.js';
import { credits as fmt, errorText } from './ui.js';
import { generatePage } from './generate.js';
import { historyPage } from './history.js';
import { usagePage } from './usage.js';
import { ledgerPage } from './credits.js';
import { keysPage } from './keys.js';
import { byokPage } from './byok.js';
import { adminPage } from './admin.js';
import { platformPage } from './platform.js';
import { providersPage } from './providers.js';

const pages = {
  generate: generatePage, history: historyPage, usage: usagePage, ledger: ledgerPage, keys: keysPage, byok: byokPage,
  admin: adminPage, platform: platformPage, providers: providersPage,
};
/** Pages only an admin key may open; their sidebar links are hidden for everyone else. */
const adminPages = new Set(['admin', 'platform', 'providers']);
/** Old addresses that still land somewhere sensible. */
const aliases = { credits: 'usage' };
const state = { isAdmin: false, account: null, me: null, cleanup: null };

const $ = (id) => document.getElementById(id);

/** Shared with the pages: the account header and a way to refresh it after something moved credits. */
export const app = {
  get isAdmin() { return state.isAdmin; },
  get account() { return state.account; },
  /** { user_id, name, tier, is_admin } of the signed-in key, from /api/v1/me. */
  get me() { return state.me; },
  async refreshAccount() {
    try {
      state.account = await api(llm('/credits'));
      renderAccount();
    } catch (e) { if (e instanceof ApiError && e.status === 401) signOut('Your key is no longer valid. Sign in again.'); }
    return state.account;
  },
  setBalance(value) {
    if (state.account) state.account.credits_remaining = value;
    renderAccount();
  },
  signOut: (message) => signOut(message),
};

function renderAccount() {
  $('balance-pill').textContent = state.account ? `${fmt(state.account.credits_remaining)} credits` : '—';
  $('tier-pill').textContent = state.account ? state.account.tier.replace('_', ' ') : '';
  $('account-name').textContent = state.me ? state.me.name || state.me.user_id : '';
  $('account-name').title = state.me ? `Signed in as ${state.me.name || state.me.user_id} (${state.me.user_id})` : '';
}

async function signIn(key) {
  // /me proves the key and says who it acts for (and whether it is an admin's) without probing an admin route.
  const [me, account] = await Promise.all([api('/api/v1/me', { key }), api(llm('/credits'), { key })]);
  state.me = me;
  state.account = account;
  state.isAdmin = me.is_admin === true;
  session.key = key;
  document.querySelectorAll('.sidebar [data-admin]').forEach((el) => { el.hidden = !state.isAdmin; });
  renderAccount();
  $('signin').hidden = true;
  $('shell').hidden = false;
  if (!location.hash || location.hash === '#/' || location.hash === '#') location.hash = '#/generate';
  else route();
}

function signOut(message) {
  session.key = null;
  state.account = null;
  state.me = null;
  state.isAdmin = false;
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  $('main').replaceChildren();
  $('shell').hidden = true;
  $('signin').hidden = false;
  const error = $('signin-error');
  error.hidden = !message;
  error.textContent = message || '';
  $('signin-key').value = '';
  $('signin-key').focus();
}

/**
 * `#/name` opens a page; anything after the name (`#/history/h_123`, `#/admin/users/u_1`) is handed
 * to it as its `path`, so a detail view has an address of its own that survives a reload.
 */
function route() {
  if (!session.key || $('shell').hidden) return;
  const [, hashName, rest] = location.hash.match(/^#\/(\w+)\/?(.*)$/) || [];
  let name = aliases[hashName] || hashName || 'generate';
  let path = rest ? decodeURIComponent(rest) : '';
  if (!pages[name] || (adminPages.has(name) && !state.isAdmin)) { name = 'generate'; path = ''; }
  // A page without a link of its own (the ledger, a detail view) lights up the link it belongs to.
  const lit = { ledger: 'usage' }[name] || name;
  document.querySelectorAll('.sidebar nav a[data-page]').forEach((a) => {
    if (a.dataset.page === lit) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  const main = $('main');
  main.replaceChildren();
  main.dataset.page = name;
  state.cleanup = pages[name](main, app, path) || null;
  const heading = main.querySelector('h1');
  document.title = `${heading ? heading.textContent.trim() : 'Console'} · ImageGateway`;
  // Focus goes to the new page's heading, so a screen reader announces where it landed.
  (heading || main).focus({ preventScroll: true });
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('signin-key');
  const error = $('signin-error');
  const key = input.value.trim();
  if (!key) {
    error.textContent = 'Paste your API key to sign in.';
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  const button = $('signin-submit');
  button.disabled = true;
  button.textContent = 'Signing in…';
  try {
    await signIn(key);
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    input.value = '';
  } catch (e) {
    error.textContent = e.status === 401 ? 'That key was not accepted: it is unknown, revoked or expired.' : errorText(e);
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.select();
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
});

$('signout').addEventListener('click', () => signOut());
window.addEventListener('hashchange', route);

if (session.key) {
  signIn(session.key).catch(() => signOut('Your session ended. Sign in again.'));
} else {
  signOut();
}
