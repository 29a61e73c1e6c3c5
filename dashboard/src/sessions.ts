/** Sessions by key: formatted data, version and expiry; delete after confirming; opt-in edit. */
import { get, post } from './api';
import { fill, h, pretty, relative, section, when } from './dom';

interface Found { key: string; found: true; data: unknown; version: number; expiresAt: string | null }
type Session = Found | { key: string; found: false };

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
    if (!s.found) { fill(out, h('p', { id: 'session-none' }, `No session under "${s.key}" (never written, deleted or expired).`)); return; }
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
        h('dt', null, 'Expires'), h('dd', null, s.expiresAt ? `${when(s.expiresAt)} (${relative(s.expiresAt)})` : 'never')),
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
