/** Sessions by key: formatted data, version, expiry and lease; delete after confirming; opt-in edit. */
import { get, post } from './api';
import { fill, h, pretty, relative, section, when } from './dom';

/** The key's lease: a fingerprint of the holder (never its token), its age and expiry, timed by the server. */
interface Lease { holder: string; acquiredAt: string | null; heldMs: number | null; expiresAt: string; expiresInMs: number }
/** `lease`: null when free, absent when the store cannot tell. */
interface Found { key: string; found: true; data: unknown; version: number; expiresAt: string | null; lease?: Lease | null }
type Session = Found | { key: string; found: false; lease?: Lease | null };

/** "850 ms", "3.2 s", "4 min". */
function span(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 90_000) return `${(ms / 1_000).toFixed(1)} s`;
  return ms < 5_400_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`;
}

/** The lease line: "held 3.2 s by ab12cd34, lapses in 26.8 s (time)", "free", or why it is not shown. */
function leaseText(lease: Lease | null | undefined): string {
  if (lease === undefined) return 'not reported by this store';
  if (lease === null) return 'free';
  const held = lease.heldMs === null ? 'held' : `held ${span(lease.heldMs)}`;
  return `${held} by ${lease.holder}, lapses in ${span(lease.expiresInMs)} (${when(lease.expiresAt)})`;
}

/** The lease as a fact row (`dt`, `dd`). */
function leaseFact(lease: Lease | null | undefined): [HTMLElement, HTMLElement] {
  return [h('dt', null, 'Lease'), h('dd', { id: 'session-lease', 'data-holder': lease?.holder }, leaseText(lease))];
}

/** Render the sessions view into `root`. */
export function sessionsView(root: HTMLElement, editable: boolean): () => void {
  const out = h('div', { 'aria-live': 'polite' });
  const keyInput = h('input', { id: 'session-key', name: 'key', required: true, autocomplete: 'off', placeholder: 'e.g. 12345 or chat:42' });

  async function lookup(key: string): Promise<void> {
    try {
      show(await get<Session>(`session?key=${encodeURIComponent(key)}`));
    } catch (err) {
      fill(out, h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
    }
  }

  function show(s: Session): void {
    if (!s.found) {
      fill(out, h('p', { id: 'session-none' }, `No session under "${s.key}" (never written, deleted or expired).`),
        s.lease ? h('dl', { class: 'facts' }, ...leaseFact(s.lease)) : null);
      return;
    }
    const status = h('p', { role: 'status' });
    const confirmBox = h('div', { class: 'confirm', hidden: true },
      h('p', null, `Delete session "${s.key}" (version ${s.version})? The bot starts this chat from scratch.`),
      h('button', { class: 'danger', id: 'session-confirm', onclick: async () => {
        try {
          const res = await post<{ deleted: boolean }>('session/delete', { key: s.key, ifVersion: s.version });
          fill(out, h('p', { id: 'session-deleted' }, res.deleted ? `Deleted session "${s.key}".` : `Session "${s.key}" was already gone.`));
        } catch (err) { status.textContent = err instanceof Error ? err.message : String(err); }
      } }, 'Yes, delete'),
      h('button', { onclick: () => { confirmBox.hidden = true; del.focus(); } }, 'Keep it'));
    const del = h('button', { class: 'danger', id: 'session-delete', onclick: () => { confirmBox.hidden = false; (confirmBox.querySelector('#session-confirm') as HTMLElement).focus(); } }, 'Delete…');
    const editor = editable ? h('form', { class: 'edit', onsubmit: async (e) => {
      e.preventDefault();
      let data: unknown;
      try { data = JSON.parse(area.value); } catch { status.textContent = 'That is not valid JSON.'; return; }
      try {
        await post('session/set', { key: s.key, data, ifVersion: s.version });
        await lookup(s.key);
      } catch (err) { status.textContent = err instanceof Error ? err.message : String(err); }
    } }) : null;
    const area = h('textarea', { rows: 10, 'aria-label': 'Session data as JSON' });
    area.value = pretty(s.data);
    editor?.append(area, h('button', { type: 'submit' }, `Save (if still version ${s.version})`));
    fill(out,
      h('dl', { class: 'facts' }, h('dt', null, 'Key'), h('dd', null, s.key), h('dt', null, 'Version'), h('dd', { id: 'session-version' }, String(s.version)),
        h('dt', null, 'Expires'), h('dd', null, s.expiresAt ? `${when(s.expiresAt)} (${relative(s.expiresAt)})` : 'never'),
        ...leaseFact(s.lease)),
      editor ?? h('pre', { id: 'session-data' }, pretty(s.data)),
      h('div', { class: 'actions' }, del), confirmBox, status);
  }

  fill(root, section('Sessions',
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); void lookup(keyInput.value); } },
      h('label', null, 'Session key', keyInput), h('button', { type: 'submit' }, 'Look up')),
    out));
  keyInput.focus();
  return () => undefined;
}
