import { h, pageHead } from './ui.js';

// Placeholder while the page is built on its branch.
export function historyPage(main) {
  main.append(pageHead('History', 'Your generations.'));
}
