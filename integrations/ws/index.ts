/**
 * The sync gateway for Node: relays SyncBus events to browsers over WebSockets (needs the `ws`
 * package). Browsers connect with `connectSync` from `botwire/client`.
 *
 * @module botwire/ws
 */
export { createSyncGateway } from './gateway.js';
export type { SyncGateway, SyncGatewayOptions, SyncAuthorization, AuthorizeInfo } from './options.js';
export { safeEqual, extractToken } from './auth.js';
export { initDataAuthorizer, type InitDataAuthorizerOptions } from './init-data-auth.js';
export { initDataToken, INIT_DATA_TOKEN_PREFIX } from '../../src/telegram/init-data-token.js';
export {
  SyncCloseCode, SYNC_SUBPROTOCOL, SYNC_PROTOCOL_VERSION, parseClientFrame, parseServerFrame, encodeFrame,
  type ClientFrame, type ServerFrame, type SyncErrorCode, type SyncResyncReason, type ParseResult,
  type SubscribeFrame, type UnsubscribeFrame, type ResumeFrame, type PingFrame,
  type HelloFrame, type EventFrame, type AckFrame, type ErrorFrame, type ResyncFrame, type PongFrame,
} from '../../src/sync/protocol.js';
export { patternCovers } from '../../src/sync/pattern-covers.js';
