/**
 * Real grammY / Telegraf bots that never touch the network: preset botInfo, and API calls answered
 * locally (grammY: an API transformer; Telegraf: a fake `callApi`). Replies are recorded.
 */
import { Bot, type Context } from 'grammy';
import { Telegraf, Context as TelegrafBaseContext, type Context as TelegrafContext } from 'telegraf';
import type { Update, UserFromGetMe } from 'grammy/types';

export const BOT_INFO: UserFromGetMe = {
  id: 42, is_bot: true, first_name: 'Test', username: 'test_bot', can_join_groups: true,
  can_read_all_group_messages: false, supports_inline_queries: false, can_connect_to_business: false,
  has_main_web_app: false, has_topics_enabled: false,
} as UserFromGetMe;

/** A sent message, as recorded by the local API. */
export interface Sent { chat_id: number | string; text: string }

/** A grammY Bot with preset botInfo whose API calls are answered locally. */
export function grammyBot<C extends Context = Context>(sent: Sent[] = []): Bot<C> {
  const bot = new Bot<C>('123:TEST', { botInfo: BOT_INFO });
  bot.api.config.use(async (_prev, method, payload) => {
    const p = payload as unknown as Sent;
    if (method === 'sendMessage') sent.push({ chat_id: p.chat_id, text: p.text });
    return { ok: true, result: { message_id: sent.length, date: 0, chat: { id: p.chat_id, type: 'private' }, text: p.text } } as never;
  });
  return bot;
}

/** A Telegraf bot with preset botInfo whose API calls are answered locally. */
export function telegrafBot<C extends TelegrafContext = TelegrafContext>(sent: Sent[] = []): Telegraf<C> {
  const callApi = (async (method: string, payload: Sent) => {
    if (method === 'sendMessage') sent.push({ chat_id: payload.chat_id, text: payload.text });
    return { message_id: sent.length, date: 0, chat: { id: payload.chat_id, type: 'private' }, text: payload.text };
  }) as never;
  // Telegraf makes a new Telegram client per update; the context type swaps in the local callApi.
  class LocalContext extends TelegrafBaseContext {
    constructor(update: ConstructorParameters<typeof TelegrafBaseContext>[0], telegram: ConstructorParameters<typeof TelegrafBaseContext>[1], botInfo: ConstructorParameters<typeof TelegrafBaseContext>[2]) {
      telegram.callApi = callApi;
      super(update, telegram, botInfo);
    }
  }
  const bot = new Telegraf<C>('123:TEST', { contextType: LocalContext as never });
  bot.telegram.callApi = callApi;
  bot.botInfo = BOT_INFO as never;
  // Telegraf's default handler also sets process.exitCode = 1; rethrow only, so callers see the error.
  bot.catch((err) => { throw err; });
  return bot;
}

let nextUpdateId = 1;

/** A text-message update from `userId` in `chatId`. */
export function textUpdate(chatId: number, text: string, userId = chatId): Update {
  return {
    update_id: nextUpdateId++,
    message: {
      message_id: nextUpdateId, date: Math.floor(Date.now() / 1000), text,
      ...(text.startsWith('/') ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] } : {}),
      chat: chatId > 0 ? { id: chatId, type: 'private', first_name: 'U' } : { id: chatId, type: 'supergroup', title: 'G' },
      from: { id: userId, is_bot: false, first_name: 'U' },
    },
  } as Update;
}

/** A callback-query update (inline button press) from `userId` in `chatId`. */
export function callbackUpdate(chatId: number, data: string, userId = chatId): Update {
  return {
    update_id: nextUpdateId++,
    callback_query: {
      id: String(nextUpdateId), chat_instance: 'ci', data, from: { id: userId, is_bot: false, first_name: 'U' },
      message: { message_id: 1, date: 0, chat: { id: chatId, type: 'private', first_name: 'U' }, text: 'card' },
    },
  } as Update;
}

/** An update without chat (e.g. an inline query): it has no default session key. */
export function inlineQueryUpdate(userId: number): Update {
  return { update_id: nextUpdateId++, inline_query: { id: 'q', from: { id: userId, is_bot: false, first_name: 'U' }, query: 'x', offset: '' } } as Update;
}
