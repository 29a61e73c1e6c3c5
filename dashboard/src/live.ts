/**
 * Live events: Server-Sent Events from the handler, and polling with ETag/304 when the stream keeps
 * failing (platforms that cut or buffer long responses). Both resume after the last `seq` seen.
 */
import { base, get } from './api';

/** One event of the feed. */
export interface FeedEvent {
  seq: number;
  topic: string;
  data: unknown;
  ts: number;
}

/** A running job's progress, sent by the handler while streams are open. */
export interface ProgressEvent {
  queue: string;
  id: string;
  name: string;
  pct: number;
  message: string | null;
}

type Mode = 'live' | 'polling' | 'off';
const listeners = new Set<(e: FeedEvent) => void>();
const progressListeners = new Set<(e: ProgressEvent) => void>();
let mode: Mode = 'off';
let last = 0;
let modeListener: (m: Mode) => void = () => undefined;

/** Listen to every event; returns the unsubscribe. */
export function onEvent(listener: (e: FeedEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Listen to job progress (only while the stream is up); returns the unsubscribe. */
export function onProgress(listener: (e: ProgressEvent) => void): () => void {
  progressListeners.add(listener);
  return () => progressListeners.delete(listener);
}

/** Whether events (and progress) arrive over the stream right now. */
export function isLive(): boolean {
  return mode === 'live';
}

function emit(e: FeedEvent): void {
  if (e.seq <= last) return;
  last = e.seq;
  for (const l of listeners) l(e);
}

function poll(): void {
  modeListener('polling');
  const tick = async (): Promise<void> => {
    try {
      const res = await get<{ last: number; events: FeedEvent[] }>(`events?after=${last}`);
      for (const e of res.events) emit(e);
    } catch { /* shown by the caller's status; keep polling */ }
    setTimeout(tick, 2_000);
  };
  void tick();
}

/** Start the feed (once): SSE first, polling after three failed connects in a row. */
export function startLive(enabled: boolean, onMode: (m: Mode) => void): void {
  modeListener = (m) => { mode = m; onMode(m); };
  if (!enabled) { modeListener('off'); return; }
  if (typeof EventSource === 'undefined') { poll(); return; }
  let failures = 0;
  const connect = (): void => {
    const es = new EventSource(`${base}api/live${last ? `?after=${last}` : ''}`);
    es.addEventListener('open', () => { failures = 0; modeListener('live'); });
    es.addEventListener('progress', (m) => {
      const p = JSON.parse((m as MessageEvent<string>).data) as ProgressEvent;
      for (const l of progressListeners) l(p);
    });
    es.addEventListener('bus', (m) => emit(JSON.parse((m as MessageEvent<string>).data) as FeedEvent));
    es.addEventListener('error', () => {
      // While CONNECTING the browser retries by itself (resuming with Last-Event-ID); CLOSED means
      // an error status. Either way, a stream that keeps failing gives way to polling.
      failures++;
      if (mode === 'live') modeListener('polling');
      if (es.readyState === EventSource.CLOSED || failures >= 3) {
        es.close();
        if (failures >= 3) poll();
        else setTimeout(connect, 1_000);
      }
    });
  };
  connect();
}

/** Whether `topic` matches a pattern as the bus reads it: `*` one segment, trailing `**`/`#` the rest. */
export function topicMatches(pattern: string, topic: string): boolean {
  if (!pattern) return true;
  if (pattern === '*' || pattern === '**' || pattern === '#') return !topic.startsWith('$');
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if ((seg === '**' || seg === '#') && i === p.length - 1) return t.length > i;
    if (i >= t.length || (seg !== '*' && seg !== t[i])) return false;
  }
  return p.length === t.length;
}
