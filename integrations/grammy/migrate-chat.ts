import { moveSession, type MoveSessionOptions } from '../../src/session/move-session.js';
import type { SessionStore } from '../../src/session/session-store.js';

/** Options of {@link migrateChat}. */
export interface MigrateChatOptions extends MoveSessionOptions {
  /** Session key of a chat id, if `getSessionKey` is not the default. @default String(chatId) */
  key?: (chatId: number) => string;
}

/**
 * Move a group's session to its new supergroup id (`message.migrate_to_chat_id`), under the leases
 * of both keys. Returns false when the group had no session; throws `SessionConflictError` (and
 * changes nothing) if the supergroup already has one.
 *
 * @example
 * ```ts
 * bot.on('message:migrate_to_chat_id', (ctx) => migrateChat(store, ctx.chat.id, ctx.message.migrate_to_chat_id));
 * ```
 */
export function migrateChat(store: SessionStore<unknown>, fromChatId: number, toChatId: number, options: MigrateChatOptions = {}): Promise<boolean> {
  const key = options.key ?? ((id: number) => String(id));
  return moveSession(store, key(fromChatId), key(toChatId), options);
}
