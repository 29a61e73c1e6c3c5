/**
 * The Node server as a `shutdown()` target: it stops accepting connections at intake, lets requests
 * in flight finish during the drain (up to `graceMs`), and cuts what is left when the transports
 * close — before the stores a request could still be using are closed.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ShutdownTarget } from 'botwire';

/**
 * Count requests in flight through `handle`, and the target that stops `server`. Requests for which
 * `resumable(url)` is true — the dashboard's event stream, which the browser resumes on its own —
 * do not hold the drain.
 */
export function serverShutdown(
  server: Server,
  handle: (req: IncomingMessage, res: ServerResponse) => unknown,
  resumable: (url: string) => boolean = () => false,
): { handler: (req: IncomingMessage, res: ServerResponse) => void; target: ShutdownTarget } {
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!resumable(req.url ?? '/')) {
      inFlight++;
      res.once('close', () => { if (--inFlight === 0) idle?.(); });
    }
    void handle(req, res);
  };
  const target: ShutdownTarget = {
    shutdownStage: 'transport',
    stopIntake() {
      // New connections are refused; idle keep-alive ones are closed (Node ≥ 19 does so in close()).
      closed ??= new Promise((resolve) => server.close(() => resolve()));
    },
    async stop({ graceMs }) {
      if (inFlight === 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        idle = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    },
    async close() {
      server.closeAllConnections();
      await closed;
    },
  };
  return { handler, target };
}
