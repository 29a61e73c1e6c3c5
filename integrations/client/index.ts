/**
 * Browser client of the sync gateway: live bus events in a page, with reconnect, resume and
 * `$resync`. Runs wherever a WebSocket exists (browsers, Deno, Bun, Node ≥ 22; Node 20 with `ws`).
 *
 * @module botwire/client
 */
export {
  connectSync, type SyncClient, type SyncClientState, type SyncClientHandler, type ConnectSyncOptions,
  type ClientResyncInfo, type ClientEventFor, type WebSocketLike, type WebSocketConstructor,
} from './connect-sync.js';
export { reconnectDelay, type ReconnectDelayOptions } from './reconnect-delay.js';
export { SyncCloseCode, SYNC_SUBPROTOCOL, SYNC_PROTOCOL_VERSION, type SyncErrorCode, type SyncResyncReason } from '../../src/sync/protocol.js';
export { SyncGatewayError, SyncTopicError } from '../../src/errors.js';
export type { SyncEnvelope } from '../../src/sync/types.js';
export { initDataToken } from '../../src/telegram/init-data-token.js';
