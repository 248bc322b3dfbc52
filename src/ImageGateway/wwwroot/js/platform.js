import { h, pageHead } from './ui.js';

// Placeholder while the page is built on its branch.
export function platformPage(main) {
  main.append(pageHead('Platform usage', 'Usage across accounts.'));
}
