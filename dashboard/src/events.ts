/** The live feed of bus events, with a topic pattern filter and pause. */
import { fill, h } from './dom';
import { onEvent, topicMatches, type FeedEvent } from './live';

const MAX = 300;

/** Render the events view into `root`; returns its cleanup. */
export function eventsView(root: HTMLElement, enabled: boolean): () => void {
  if (!enabled) { fill(root, h('p', { class: 'muted' }, 'No bus: pass `bus` to dashboardHandler to see events here.')); return () => undefined; }
  let pattern = '';
  let paused = false;
  const held: FeedEvent[] = [];
  const list = h('ol', { id: 'events', class: 'feed', reversed: true });
  const note = h('span', { class: 'muted', role: 'status' });
  const item = (e: FeedEvent): HTMLElement => h('li', { 'data-topic': e.topic },
    h('time', { datetime: new Date(e.ts).toISOString() }, new Date(e.ts).toLocaleTimeString()), ' ', h('code', { class: 'topic' }, e.topic), ' ',
    h('span', { class: 'data' }, e.data === undefined ? '' : JSON.stringify(e.data)));
  const add = (e: FeedEvent): void => {
    if (!topicMatches(pattern, e.topic)) return;
    list.prepend(item(e));
    while (list.children.length > MAX) list.lastElementChild!.remove();
  };
  const pause = h('button', { id: 'events-pause', 'aria-pressed': 'false', onclick: () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) { held.splice(0).forEach(add); note.textContent = ''; }
  } }, 'Pause');
  const input = h('input', { id: 'events-pattern', placeholder: 'e.g. orders.* or jobs.**', autocomplete: 'off',
    oninput: () => {
      pattern = input.value.trim();
      for (const li of list.children) (li as HTMLElement).hidden = !topicMatches(pattern, (li as HTMLElement).dataset.topic ?? '');
    } });
  fill(root, h('section', null, h('h2', null, 'Events'),
    h('div', { class: 'filters' }, h('label', null, 'Topic pattern', input), pause,
      h('button', { onclick: () => fill(list) }, 'Clear'), note),
    list));
  const off = onEvent((e) => {
    if (paused) { held.push(e); if (held.length > MAX) held.shift(); note.textContent = `${held.length} new while paused`; } else add(e);
  });
  return off;
}
