/** The page's views, one per address fragment (`#/overview`, `#/energy`, …). */
import { ref } from 'vue';

export const VIEWS = ['overview', 'energy', 'fleet', 'rooms', 'alerts'] as const;
export type View = (typeof VIEWS)[number];

function fromHash(): View {
  const name = window.location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return (VIEWS as readonly string[]).includes(name ?? '') ? (name as View) : 'overview';
}

export const currentView = ref<View>(fromHash());

window.addEventListener('hashchange', () => {
  currentView.value = fromHash();
});

export function go(view: View): void {
  if (currentView.value === view) return;
  window.location.hash = `#/${view}`;
}
