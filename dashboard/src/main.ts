/** The page: a hash router over the four views, the queue picker, the live status and the sign-in hint. */
import './style.css';
import { get, whenUnauthorized } from './api';
import { eventsView } from './events';
import { healthView } from './health';
import { jobDetailView } from './job-detail';
import { jobsView } from './jobs';
import { startLive } from './live';
import { sessionsView } from './sessions';
import { current, q, type Overview } from './state';

const main = document.getElementById('main')!;
const live = document.getElementById('live')!;
let overview: Overview | undefined;
let cleanup: () => void = () => undefined;

whenUnauthorized((loginUrl) => {
  const box = document.getElementById('login')!;
  box.hidden = false;
  const link = document.getElementById('login-link') as HTMLAnchorElement;
  if (loginUrl) { link.href = loginUrl; link.hidden = false; }
  live.textContent = 'signed out';
});

async function loadOverview(): Promise<Overview> {
  overview = await get<Overview>(q('overview'));
  return overview;
}

function route(): void {
  cleanup();
  const [, tab = 'jobs', ...rest] = location.hash.split('/');
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.dataset.tab === (tab === 'job' ? 'jobs' : tab)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const f = overview?.features;
  if (tab === 'job') cleanup = jobDetailView(main, decodeURIComponent(rest.join('/')));
  else if (tab === 'sessions') cleanup = sessionsView(main, f?.sessionEdit === true);
  else if (tab === 'events') cleanup = eventsView(main, f?.events === true);
  else if (tab === 'health') cleanup = healthView(main);
  else cleanup = jobsView(main, loadOverview);
}

async function start(): Promise<void> {
  try {
    const o = await loadOverview();
    current.queue = o.queue;
    const pick = document.getElementById('queue') as HTMLSelectElement;
    if (o.features.queues.length > 1) {
      pick.replaceChildren(...o.features.queues.map((n) => new Option(n, n, false, n === o.queue)));
      pick.addEventListener('change', () => { current.queue = pick.value; route(); });
      pick.parentElement!.hidden = false;
    }
    for (const [tab, on] of [['sessions', o.features.sessions], ['events', o.features.events], ['health', o.features.health.length > 0]] as const) {
      (document.querySelector(`nav a[data-tab="${tab}"]`) as HTMLElement).hidden = !on;
    }
    startLive(o.features.events, (m) => { live.textContent = m === 'live' ? '● live' : m === 'polling' ? '◌ polling' : 'updates by polling'; live.dataset.mode = m; });
  } catch {
    return; // 401 shows the sign-in hint; anything else leaves the views to show their errors
  }
  window.addEventListener('hashchange', route);
  route();
}

void start();
