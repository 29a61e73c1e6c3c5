/**
 * The admin panel: edit the bot's keyboard buttons and watch users' balances live.
 *
 * Data comes from the admin API (`/api/admin/*`, Bearer token); changes made anywhere — this page,
 * another admin, the bot — arrive as events through botwire's WebSocket gateway (`/sync`), and
 * `useSyncRefetch` reloads what they touch. The token is the server's `ADMIN_TOKEN`. Signing in
 * also sets an HttpOnly cookie for the ops dashboard (`/admin/ops/`, botwire/dashboard), which the
 * browser opens as a page and so cannot send the Bearer header to.
 */
import { StrictMode, useCallback, useEffect, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { SyncProvider, useSync, useSyncRefetch, useSyncState } from 'botwire/react';

interface Button { id: number; label: string; action: string; order: number; active: boolean }
interface User { id: number; name: string; balance: number }

const ACTIONS = ['tasks', 'new', 'report', 'imagine', 'balance', 'help'];
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;

function useApi(token: string) {
  return useCallback(async <T,>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`/api/admin/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const data = r.status === 204 ? undefined : await r.json();
    if (!r.ok) throw new Error((data as { error?: { message?: string } })?.error?.message ?? `HTTP ${r.status}`);
    return data as T;
  }, [token]);
}

/** Load `path` now and whenever `refetch` is called. */
function useResource<T>(api: ReturnType<typeof useApi>, path: string): [T | undefined, () => void] {
  const [data, setData] = useState<T>();
  const load = useCallback(() => { void api<T>('GET', path).then(setData); }, [api, path]);
  useEffect(load, [load]);
  return [data, load];
}

function Buttons({ api }: { api: ReturnType<typeof useApi> }) {
  const [rows, refetch] = useResource<Button[]>(api, 'buttons');
  useSyncRefetch('buttons.*', refetch);
  const [error, setError] = useState('');
  const save = async (b: Button, form: HTMLFormElement) => {
    const f = new FormData(form);
    try {
      await api('PATCH', `buttons/${b.id}`, { label: String(f.get('label')), action: String(f.get('action')), active: f.get('active') === 'on' });
      setError('');
    } catch (err) { setError((err as Error).message); }
  };
  const add = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    try {
      await api('POST', 'buttons', { label: String(f.get('label')), action: String(f.get('action')) });
      e.currentTarget?.reset();
      setError('');
    } catch (err) { setError((err as Error).message); }
  };
  return (
    <section>
      <h2>Keyboard buttons</h2>
      <table>
        <thead><tr><th>#</th><th>label</th><th>action</th><th>on</th><th /></tr></thead>
        <tbody>
          {(rows ?? []).map((b) => (
            <tr key={`${b.id}:${b.label}:${b.action}:${b.active}`} data-button={b.id}>
              <td>{b.id}</td>
              <td colSpan={4}>
                <form onSubmit={(e) => { e.preventDefault(); void save(b, e.currentTarget); }} style={{ display: 'flex', gap: 6 }}>
                  <input type="text" name="label" defaultValue={b.label} aria-label={`label of button ${b.id}`} />
                  <select name="action" defaultValue={b.action}>{ACTIONS.map((a) => <option key={a}>{a}</option>)}</select>
                  <input type="checkbox" name="active" defaultChecked={b.active} />
                  <button type="submit">Save</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={(e) => void add(e)} style={{ display: 'flex', gap: 6, marginTop: 12 }}>
        <input type="text" name="label" placeholder="new button label" required />
        <select name="action">{ACTIONS.map((a) => <option key={a}>{a}</option>)}</select>
        <button type="submit">Add</button>
      </form>
      {error && <p className="error">{error}</p>}
      <p>The bot shows the new keyboard on the next /start, on every instance.</p>
    </section>
  );
}

function Users({ api }: { api: ReturnType<typeof useApi> }) {
  const [rows, refetch] = useResource<User[]>(api, 'users');
  const [flash, setFlash] = useState<number>();
  useSyncRefetch('users.*', refetch, { debounceMs: 100 });
  useSync('users.balance_updated', (e) => setFlash((e.data as { userId: number }).userId));
  return (
    <section>
      <h2>Users</h2>
      <table>
        <thead><tr><th>id</th><th>name</th><th>balance</th></tr></thead>
        <tbody>
          {(rows ?? []).map((u) => (
            <tr key={`${u.id}:${u.balance}`} data-user={u.id} className={flash === u.id ? 'flash' : ''}>
              <td>{u.id}</td><td>{u.name}</td><td data-balance={u.id}>{u.balance}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows?.length === 0 && <p>No users yet: send /start to the bot.</p>}
    </section>
  );
}

function Live() {
  const state = useSyncState();
  return <span className={`badge ${state === 'open' ? '' : 'off'}`} data-sync={state}>{state === 'open' ? 'live' : state}</span>;
}

function Panel({ token, logout }: { token: string; logout: () => void }) {
  const api = useApi(token);
  // (Re)sign this browser in to the ops dashboard: the cookie lasts 12 h, the tab's token longer.
  useEffect(() => { void api('POST', 'session').catch(() => undefined); }, [api]);
  return (
    <SyncProvider url={wsUrl} options={{ token: () => token }}>
      <header>
        <h1>webhook-app admin</h1>
        <Live />
        <a href="/admin/ops/">ops dashboard</a>
        <button onClick={() => { void api('DELETE', 'session').catch(() => undefined).finally(logout); }}>Log out</button>
      </header>
      <main>
        <Buttons api={api} />
        <Users api={api} />
      </main>
    </SyncProvider>
  );
}

function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem('adminToken') ?? '');
  const [error, setError] = useState('');
  if (token) return <Panel token={token} logout={() => { sessionStorage.removeItem('adminToken'); setToken(''); }} />;
  const login = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const t = String(new FormData(e.currentTarget).get('token'));
    const r = await fetch('/api/admin/buttons', { headers: { authorization: `Bearer ${t}` } });
    if (!r.ok) { setError('That token was refused.'); return; }
    sessionStorage.setItem('adminToken', t);
    setToken(t);
  };
  return (
    <section className="login">
      <h2>Admin login</h2>
      <form onSubmit={(e) => void login(e)} style={{ display: 'flex', gap: 6 }}>
        <input type="password" name="token" placeholder="ADMIN_TOKEN" aria-label="admin token" autoFocus />
        <button type="submit">Log in</button>
      </form>
      {error && <p className="error">{error}</p>}
    </section>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
