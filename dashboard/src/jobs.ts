/** The jobs view: counts per name and state, a filtered list, schedules and limits. */
import { get } from './api';
import { badge, fill, h, relative, section, when } from './dom';
import { onEvent, onProgress } from './live';
import { q, STATES, type Overview } from './state';

interface Row {
  id: string; name: string; state: string; group: string | null; attempts: number; maxAttempts: number | null;
  progress: { pct: number; message?: string }; runAt: string; updatedAt: string;
}

const filter = { state: '', name: '', group: '', q: '' };

/** Link to a job's detail view. */
export function jobHref(id: string): string {
  return `#/job/${encodeURIComponent(id)}`;
}

function countsTable(o: Overview, apply: () => void): HTMLElement {
  if (!o.counts) return h('p', { class: 'muted' }, 'This queue’s backend does not keep counts.');
  const rows = [['all', o.counts.total] as const, ...Object.entries(o.counts.byName)];
  const capped = new Set(o.counts.capped);
  // Backends without counters are counted from one list page per state: show where that page was full.
  const cell = (name: string, state: string, n: number): HTMLElement => h('td', null, n === 0 ? h('span', { class: 'muted' }, '0') : h('button', {
    class: 'link', title: `Show ${state} jobs${name === 'all' ? '' : ` of ${name}`}`,
    onclick: () => { filter.state = state; filter.name = name === 'all' ? '' : name; apply(); },
  }, capped.has(state) ? `${n}+` : n));
  return h('div', { class: 'scroll' }, h('table', { class: 'counts' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), ...STATES.map((s) => h('th', { scope: 'col' }, badge(s))))),
    h('tbody', null, ...rows.map(([name, c]) => h('tr', { 'data-name': name }, h('th', { scope: 'row' }, name), ...STATES.map((s) => cell(name, s, c[s] ?? 0))))),
  ));
}

function listTable(rows: Row[]): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No jobs match.');
  return h('div', { class: 'scroll' }, h('table', { class: 'jobs' },
    h('thead', null, h('tr', null, ...['Id', 'Name', 'State', 'Progress', 'Attempts', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ...rows.map((j) => h('tr', { 'data-id': j.id },
      h('td', { class: 'id' }, h('a', { href: jobHref(j.id) }, j.id)),
      h('td', null, j.name, j.group ? h('small', { class: 'muted' }, ` · ${j.group}`) : null),
      h('td', null, badge(j.state)),
      h('td', null, h('progress', { max: 100, value: j.progress.pct, 'aria-label': `Progress of ${j.id}` })),
      h('td', null, `${j.attempts}${j.maxAttempts ? ` / ${j.maxAttempts}` : ''}`),
      h('td', { title: when(j.updatedAt) }, relative(j.updatedAt)),
    ))),
  ));
}

function schedulesTable(o: Overview): HTMLElement | null {
  if (o.schedules.length === 0) return null;
  const slots = (s: Overview['schedules'][number]): HTMLElement =>
    h('ul', { class: 'plain' }, ...s.next.map((n, i) => h('li', null, h('a', { href: jobHref(s.nextIds[i]!) }, when(n)), ` (${relative(n)})`)));
  const row = (s: Overview['schedules'][number]): HTMLElement =>
    h('tr', null, h('td', null, s.key), h('td', null, s.name), h('td', null, h('code', null, s.cron), ` ${s.tz}`), h('td', null, slots(s)));
  return section('Schedules', h('div', { class: 'scroll' }, h('table', null,
    h('thead', null, h('tr', null, ...['Key', 'Job', 'Cron', 'Next slots'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ...o.schedules.map(row)))));
}

function limitsTable(o: Overview): HTMLElement | null {
  if (!o.limits || o.limits.length === 0) return null;
  return section('Limits', h('div', { class: 'scroll' }, h('table', null,
    h('thead', null, h('tr', null, ...['Job', 'Slots in use', 'Rate'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ...o.limits.map((l) => h('tr', { 'data-limit': l.name }, h('td', null, l.name),
      h('td', null, l.concurrency ? `${l.active ?? '?'} / ${l.concurrency}` : `${l.active ?? '?'} running (no cap)`),
      h('td', null, l.rate ? `${l.rate.max} per ${l.rate.perMs / 1000} s` : '—')))),
  )));
}

/** Render the jobs view into `root`; returns its cleanup. */
export function jobsView(root: HTMLElement, overview: () => Promise<Overview>): () => void {
  const counts = h('div');
  const list = h('div', { 'aria-live': 'polite' });
  const extra = h('div');
  const more = h('p');
  let cursor: string | null = null;
  let rows: Row[] = [];

  const input = (key: keyof typeof filter, label: string, attrs: Record<string, string> = {}): HTMLElement => h('label', null, label,
    h('input', { ...attrs, name: key, value: filter[key], oninput: (e) => { filter[key] = (e.target as HTMLInputElement).value; schedule(); } }));
  const stateSelect = h('select', { name: 'state', onchange: (e) => { filter.state = (e.target as HTMLSelectElement).value; void load(); } },
    h('option', { value: '' }, 'any'), ...STATES.map((s) => h('option', { value: s }, s)));
  const form = h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); void load(); } },
    h('label', null, 'State', stateSelect), input('name', 'Name', { list: 'job-names', autocomplete: 'off' }), input('group', 'Group'),
    input('q', 'Id contains', { type: 'search' }), h('datalist', { id: 'job-names' }));

  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (): void => { clearTimeout(timer); timer = setTimeout(() => void load(), 250); };

  const params = (): string => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v) p.set(k, v);
    return p.toString();
  };

  async function load(append = false): Promise<void> {
    stateSelect.value = filter.state;
    for (const el of form.querySelectorAll('input')) el.value = filter[el.name as keyof typeof filter] ?? '';
    const p = params();
    const res = await get<{ jobs: Row[]; cursor: string | null }>(q(`jobs?${p}${append && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
    rows = append ? [...rows, ...res.jobs] : res.jobs;
    cursor = res.cursor;
    fill(list, listTable(rows));
    fill(more, cursor ? h('button', { onclick: () => void load(true) }, 'More') : null);
  }

  async function refreshOverview(): Promise<void> {
    const o = await overview();
    fill(counts, countsTable(o, () => void load()));
    fill(form.querySelector('datalist')!, ...Object.keys(o.counts?.byName ?? {}).map((n) => h('option', { value: n })));
    fill(extra, schedulesTable(o), limitsTable(o));
  }
  const quiet = (p: Promise<void>): void => void p.catch(() => undefined);

  fill(root, section('Counts', counts), section('Jobs', form, list, more), extra);
  quiet(refreshOverview());
  quiet(load());
  // State changes arrive as events: refresh soon after (the list at once, counts a little later,
  // as a burst of events asks the backend once). Progress is no event: the list polls (304 when
  // unchanged), the counts less often, as on backends without counters they cost more.
  let soonList: ReturnType<typeof setTimeout> | undefined;
  let soonCounts: ReturnType<typeof setTimeout> | undefined;
  const off = onEvent((e) => {
    if (!e.topic.startsWith('jobs.')) return;
    clearTimeout(soonList);
    soonList = setTimeout(() => quiet(load()), 200);
    soonCounts ??= setTimeout(() => { soonCounts = undefined; quiet(refreshOverview()); }, 1_000);
  });
  const offProgress = onProgress((p) => {
    const bar = list.querySelector<HTMLProgressElement>(`tr[data-id="${CSS.escape(p.id)}"] progress`);
    if (bar) bar.value = p.pct;
  });
  const pollList = setInterval(() => quiet(load()), 3_000);
  const pollCounts = setInterval(() => quiet(refreshOverview()), 15_000);
  return () => { off(); offProgress(); clearInterval(pollList); clearInterval(pollCounts); clearTimeout(soonList); clearTimeout(soonCounts); clearTimeout(timer); };
}

/** Set the list filter from outside (e.g. a link from another view). */
export function setFilter(next: Partial<typeof filter>): void {
  Object.assign(filter, next);
}
