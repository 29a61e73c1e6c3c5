/** Health checks with their latency. */
import { get } from './api';
import { fill, h, section } from './dom';

interface Health { ok: boolean; checks: Array<{ label: string; ok: boolean; latencyMs: number; details: Record<string, unknown> }> }

/** Render the health view into `root`; returns its cleanup. */
export function healthView(root: HTMLElement): () => void {
  const out = h('div', { 'aria-live': 'polite' });
  async function load(): Promise<void> {
    const res = await get<Health>('health');
    if (res.checks.length === 0) { fill(out, h('p', { class: 'muted' }, 'No checks: pass `health: { redis: queue, … }` to dashboardHandler.')); return; }
    fill(out, h('div', { class: 'scroll' }, h('table', null,
      h('thead', null, h('tr', null, ...['Check', 'Status', 'Latency', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, ...res.checks.map((c) => h('tr', { 'data-check': c.label }, h('td', null, c.label),
        h('td', null, h('span', { class: `state state-${c.ok ? 'completed' : 'failed'}` }, c.ok ? 'ok' : 'failing')),
        h('td', null, `${c.latencyMs} ms`), h('td', null, h('code', null, Object.keys(c.details).length ? JSON.stringify(c.details) : ''))))))));
  }
  fill(root, section('Health', h('button', { onclick: () => void load().catch(() => undefined) }, 'Check again'), out));
  void load().catch(() => undefined);
  const timer = setInterval(() => void load().catch(() => undefined), 10_000);
  return () => clearInterval(timer);
}
