/**
 * A raw WebSocket peer for gateway tests: sends exact frames (hostile ones too) and waits for the
 * frames or close it expects, with a bounded wait so a missing frame fails instead of hanging.
 */
import WebSocket from 'ws';
import type { ServerFrame } from '../../src/sync/protocol.js';

export interface PeerOptions {
  token?: string;
  via?: 'header' | 'protocol' | 'query';
  autoPong?: boolean;
  protocols?: string[];
}

export interface Peer {
  ws: WebSocket;
  frames: ServerFrame[];
  send(frame: unknown): void;
  sendRaw(data: string | Buffer): void;
  /** Resolve with the first frame (already received or upcoming) after index `from` satisfying `test`. */
  next<F extends ServerFrame = ServerFrame>(test: (f: ServerFrame) => boolean, timeoutMs?: number): Promise<F>;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** Open a peer; resolves after the `hello` frame, rejects with the HTTP status when refused. */
export function connectPeer(url: string, options: PeerOptions = {}): Promise<Peer> {
  const { token, via = 'protocol', autoPong = true } = options;
  const protocols = options.protocols ?? ['botwire-sync.v1'];
  let target = url;
  const headers: Record<string, string> = {};
  if (token !== undefined) {
    if (via === 'header') headers.authorization = `Bearer ${token}`;
    else if (via === 'query') target += `?token=${encodeURIComponent(token)}`;
    else protocols.push(`bearer.${token}`);
  }
  const ws = new WebSocket(target, protocols, { headers, autoPong });
  const frames: ServerFrame[] = [];
  const waiters = new Set<() => void>();
  let cursor = 0;
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as ServerFrame);
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
  });
  const peer: Peer = {
    ws,
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (data) => ws.send(data),
    next<F extends ServerFrame>(test: (f: ServerFrame) => boolean, timeoutMs = 5000): Promise<F> {
      return new Promise<F>((resolve, reject) => {
        const check = (): void => {
          while (cursor < frames.length) {
            const f = frames[cursor++]!;
            if (test(f)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(f as F);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames).slice(0, 500)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    closed,
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', reject);
    peer.next((f) => f.type === 'hello').then(() => resolve(peer), reject);
  });
}
