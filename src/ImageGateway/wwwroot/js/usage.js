import { h, pageHead } from './ui.js';

// Placeholder while the page is built on its branch.
export function usagePage(main) {
  main.append(pageHead('Usage & limits', 'What you spent.'), h('a', { href: '#/ledger' }, 'Ledger'));
}
