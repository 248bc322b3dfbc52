import { h, pageHead } from './ui.js';

// Placeholder while the page is built on its branch.
export function providersPage(main) {
  main.append(pageHead('Providers', 'Upstream health.'));
}
