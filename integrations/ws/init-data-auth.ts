/**
 * A ready `authorize` for the sync gateway: Telegram Mini App users, identified by their signed
 * `initData`, get the topics `topics(user)` names.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { BotwireConfigError, InitDataError } from '../../src/errors.js';
import { verifyInitData, type InitDataUser, type VerifiedInitData } from '../../src/telegram/init-data.js';
import { initDataFromAuthorization, initDataFromToken } from '../../src/telegram/init-data-token.js';
import type { AuthorizeInfo, SyncAuthorization } from './options.js';

/** Options of {@link initDataAuthorizer}. */
export interface InitDataAuthorizerOptions {
  /** The token of the bot the Mini App belongs to (its `initData` is signed with it). */
  botToken: string;
  /**
   * Refuse `initData` signed longer ago than this (Telegram signs it when the app opens; a Mini App
   * that stays open longer must be reopened to reconnect).
   * @default 86_400 (one day)
   */
  maxAgeSec?: number;
  /**
   * The topic patterns this user may subscribe to, e.g. `` [`users.${user.id}.*`] ``. An empty list
   * (or a throw) refuses the connection.
   */
  topics: (user: InitDataUser, data: VerifiedInitData) => readonly string[] | Promise<readonly string[]>;
  /** Told about every refused `initData` (bad hash, expired…), e.g. for metrics. */
  onRefused?: (error: InitDataError) => void;
}

/**
 * Build the gateway's `authorize` hook from Mini App `initData`: the connection's token (sent by
 * `connectSync({ token: () => initDataToken(Telegram.WebApp.initData) })`, or the raw string as
 * `?token=`, or `Authorization: tma <initData>`) is verified with the bot token
 * (`verifyInitData`); the connection's `id` is the Telegram user id, so
 * `gateway.disconnect(String(userId))` closes that user's connections.
 *
 * @example
 * ```ts
 * const gateway = await createSyncGateway({
 *   bus, server,
 *   authorize: initDataAuthorizer({ botToken: process.env.BOT_TOKEN!, topics: (user) => [`users.${user.id}.*`] }),
 * });
 * ```
 */
export function initDataAuthorizer(options: InitDataAuthorizerOptions): (request: IncomingMessage, info: AuthorizeInfo) => Promise<SyncAuthorization | false> {
  if (!options || typeof options.topics !== 'function') {
    throw new BotwireConfigError('initDataAuthorizer needs `topics: (user) => patterns`, e.g. (user) => [`users.${user.id}.*`].');
  }
  if (typeof options.botToken !== 'string' || !/^\d+:[\w-]{20,}$/.test(options.botToken)) {
    throw new BotwireConfigError('initDataAuthorizer: `botToken` is not a Bot API token (<id>:<secret>); pass the token the Mini App belongs to.');
  }
  const { botToken, maxAgeSec } = options;
  return async (request, { token }) => {
    const initData = token !== undefined ? initDataFromToken(token) : initDataFromAuthorization(request.headers.authorization);
    if (!initData) return false;
    let data: VerifiedInitData;
    try {
      data = await verifyInitData(initData, botToken, maxAgeSec === undefined ? {} : { maxAgeSec });
    } catch (err) {
      if (err instanceof InitDataError) { options.onRefused?.(err); return false; }
      throw err;
    }
    if (!data.user || !Number.isSafeInteger(data.user.id)) return false;
    const allow = [...(await options.topics(data.user, data))];
    return allow.length === 0 ? false : { allow, id: String(data.user.id) };
  };
}
