/**
 * The WebSocket gateway at `/sync` (Node server only; `botwire/ws`): the app's events, live, for
 *
 * - the admin panel, which connects with the admin token and may subscribe to everything;
 * - a Telegram Mini App, which connects with its signed `initData` (`initDataToken` from
 *   `botwire/client`) and may subscribe to the catalogue topics that carry no one's personal data.
 */
import type { Server } from 'node:http';
import { createSyncGateway, initDataAuthorizer, safeEqual, type SyncGateway } from 'botwire/ws';
import type { App } from './app.js';

/** What a Mini App user may subscribe to: changes to what every user sees, never another user's balance. */
export const MINI_APP_TOPICS = ['tasks.*', 'buttons.*', 'scenarios.*', 'settings.updated'] as const;

/** Attach the gateway to `server` (upgrades on `/sync`). */
export function createAppGateway(app: App, server: Server): Promise<SyncGateway> {
  const miniApp = initDataAuthorizer({
    botToken: app.config.botToken, maxAgeSec: 86_400, topics: () => MINI_APP_TOPICS,
    onRefused: (err) => app.log.debug({ err }, 'sync: initData refused'),
  });
  return createSyncGateway({
    bus: app.backend.bus, server, path: '/sync',
    authorize: (request, info) => (info.token !== undefined && safeEqual(info.token, app.config.adminToken)
      ? { allow: ['**'], id: 'admin' }
      : miniApp(request, info)),
    onError: (err) => app.log.warn({ err }, 'sync gateway'),
  });
}
