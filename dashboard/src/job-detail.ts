/** One job: payload, progress, partial result and missing parts, errors per attempt, timeline, lease, actions. */
import { ApiError, get, post } from './api';
import { badge, fill, h, pretty, relative, section, when } from './dom';
import { isLive, onEvent, onProgress } from './live';
import { current as selected, q } from './state';

interface Detail {
  id: string; name: string; state: string; group: string | null; attempts: number; maxAttempts: number | null;
  progress: { pct: number; message?: string }; payload: unknown; result: unknown; hasResult: boolean; missing: string[];
  error: { name: string; message: string; stack?: string } | null; errors: Attempt[];
  priority: number; timeoutMs: number; createdAt: string; startedAt: string | null;
  finishedAt: string | null; retryUntil: string | null; nextRunAt: string | null; updatedAt: string;
  lease: { until: string; lapsed: boolean; holder: string | null } | null;
  timeline: Array<{ at: string; what: string; detail?: string }>;
  actions: { retry: boolean; cancel: boolean; run: boolean; remove: boolean };
}

interface Attempt { attempt: number; at: string; name: string; message: string; code: string | null; stack: string | null }

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

function facts(d: Detail): HTMLElement {
  const row = (k: string, v: Node | string): Node[] => [h('dt', null, k), h('dd', null, v)];
  return h('dl', { class: 'facts' },
    ...row('Name', d.name), ...(d.group ? row('Group', d.group) : []),
    ...row('Attempts', `${d.attempts}${d.maxAttempts ? ` of ${d.maxAttempts}` : ' (until the deadline)'}`),
    ...row('Next run', d.nextRunAt ? `${when(d.nextRunAt)} (${relative(d.nextRunAt)})` : '—'),
    ...row('Lease', d.lease ? `${d.lease.holder ? `claim ${d.lease.holder}…, ` : ''}${d.lease.lapsed ? 'lapsed' : 'held'} until ${when(d.lease.until)}` : '—'),
    ...row('Created', when(d.createdAt)), ...row('Started', when(d.startedAt)), ...row('Finished', when(d.finishedAt)),
    ...(d.retryUntil ? row('Retry until', when(d.retryUntil)) : []), ...row('Priority', String(d.priority)), ...row('Timeout', `${d.timeoutMs / 1000} s`),
  );
}

/** The errors of the job's attempts, newest first, each stack behind a disclosure. */
function attempts(d: Detail): HTMLElement | null {
  if (d.errors.length === 0) return null;
  const items = [...d.errors].reverse().map((e, i) => h('li', { 'data-attempt': e.attempt },
    h('div', null, h('strong', null, `Attempt ${e.attempt}`), ' ', h('time', { datetime: e.at, class: 'muted' }, when(e.at))),
    h('p', { class: 'error' }, h('strong', null, e.name), e.code ? ` [${e.code}]` : '', `: ${e.message}`),
    e.stack ? h('details', null, h('summary', null, 'Stack'), h('pre', i === 0 ? { id: 'job-stack' } : null, e.stack)) : null));
  return section(d.errors.length === 1 ? 'Error' : `Errors of the last ${d.errors.length} failed attempts, newest first`,
    h('ul', { class: 'attempts plain', id: 'job-errors' }, ...items));
}

/** Render job `id` into `root`; returns its cleanup. */
export function jobDetailView(root: HTMLElement, id: string): () => void {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const body = h('div');
  let current: Detail | undefined;

  const act = (action: 'retry' | 'cancel' | 'run', label: string): HTMLButtonElement => h('button', {
    'data-action': action,
    onclick: async () => {
      status.textContent = `${label}…`;
      try {
        current = await post<Detail>(q(`jobs/${encodeURIComponent(id)}/${action}`));
        render(current);
        status.textContent = `${label}: done, the job is ${current.state}.`;
      } catch (err) {
        status.textContent = `${label} failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    },
  }, label);
  let gone = false;
  const confirmYes = h('button', {
    class: 'danger', id: 'job-remove-confirm',
    onclick: async () => {
      status.textContent = 'Removing…';
      try {
        const res = await post<{ removed: boolean }>(q(`jobs/${encodeURIComponent(id)}/remove`));
        gone = true;
        fill(body, h('p', { id: 'job-removed' }, res.removed ? `Job ${id} was removed with its data.` : `Job ${id} was already gone.`));
        status.textContent = '';
      } catch (err) {
        confirmBox.hidden = true;
        status.textContent = err instanceof ApiError && err.code === 'JOB_STATE'
          ? 'Remove refused: the job is running. Cancel it first, or wait for its run to end.'
          : `Remove failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    },
  }, 'Yes, remove');
  const confirmBox = h('div', { class: 'confirm', hidden: true },
    h('p', null, `Remove job ${id} with its payload, result and errors? This cannot be undone.`), confirmYes,
    h('button', { onclick: () => { confirmBox.hidden = true; buttons.remove.focus(); } }, 'Keep it'));
  const buttons = {
    retry: act('retry', 'Retry'), cancel: act('cancel', 'Cancel'), run: act('run', 'Run now'),
    remove: h('button', { class: 'danger', 'data-action': 'remove', onclick: () => { confirmBox.hidden = false; confirmYes.focus(); } }, 'Remove…'),
  };

  function render(d: Detail): void {
    const focused = document.activeElement;
    for (const [k, b] of Object.entries(buttons)) b.disabled = !d.actions[k as keyof Detail['actions']];
    if (!d.actions.remove) confirmBox.hidden = true;
    // The buttons are kept across renders; give focus back to the one that had it.
    queueMicrotask(() => { if (focused instanceof HTMLButtonElement && body.contains(focused) && !focused.disabled) focused.focus(); });
    fill(body,
      h('h2', { class: 'job-title' }, 'Job ', h('code', null, d.id), ' ', badge(d.state)),
      h('div', { class: 'progress' },
        h('progress', { id: 'job-progress', max: 100, value: d.progress.pct, 'aria-label': 'Progress' }),
        h('span', { class: 'pct' }, `${d.progress.pct}%`), h('span', { class: 'muted message' }, d.progress.message ? ` ${d.progress.message}` : '')),
      h('div', { class: 'actions' }, buttons.retry, buttons.cancel, buttons.run, buttons.remove),
      confirmBox,
      facts(d),
      attempts(d),
      section('Payload', h('pre', null, pretty(d.payload))),
      d.hasResult ? section(d.state === 'completed' ? 'Result' : 'Partial result', h('pre', { id: 'job-result' }, pretty(d.result))) : null,
      d.missing.length ? section('Missing parts', h('ul', { id: 'job-missing' }, ...d.missing.map((m) => h('li', null, m)))) : null,
      section('Timeline', h('ol', { class: 'timeline' }, ...d.timeline.map((t) => h('li', null,
        h('time', { datetime: t.at }, when(t.at)), ` ${t.what}`, t.detail ? h('div', { class: 'muted' }, t.detail) : null)))),
    );
  }

  async function load(): Promise<void> {
    if (gone) return;
    try {
      current = await get<Detail>(q(`jobs/${encodeURIComponent(id)}`));
      render(current);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) fill(body, h('p', null, `Job ${id} does not exist (never added, or removed by retention).`));
      else throw err;
    }
  }

  fill(root, h('p', null, h('a', { href: '#/jobs' }, '← All jobs')), body, status);
  void load().catch(() => undefined);
  const off = onEvent((e) => {
    if (e.topic.startsWith('jobs.') && (e.data as { id?: string } | null)?.id === id) void load().catch(() => undefined);
  });
  // Progress comes over the stream while it is up; without it, poll while the job can still move
  // (a 304 when nothing changed). A slow poll stays as a safety net for the stream.
  const offProgress = onProgress((p) => {
    if (p.id !== id || p.queue !== selected.queue || !current) return;
    current = { ...current, progress: { pct: p.pct, ...(p.message === null ? {} : { message: p.message }) } };
    // Only the bar changes: the rest of the view (and the keyboard focus in it) stays as it is.
    const bar = body.querySelector<HTMLProgressElement>('#job-progress');
    if (bar) bar.value = p.pct;
    const pct = body.querySelector('.progress .pct');
    if (pct) pct.textContent = `${p.pct}%`;
    const msg = body.querySelector('.progress .message');
    if (msg) msg.textContent = p.message ? ` ${p.message}` : '';
  });
  let ticks = 0;
  const poll = setInterval(() => {
    if (current && FINISHED.has(current.state)) return;
    if (isLive() && ++ticks % 5 !== 0) return;
    void load().catch(() => undefined);
  }, 1_000);
  return () => { off(); offProgress(); clearInterval(poll); };
}
