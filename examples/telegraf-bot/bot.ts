/**
 * The tournament edit flow of examples/webhook-app, on Telegraf: a photo or /new → a draft card →
 * ✏️ Edit → `name:…`, `buyin:…` → `done` saves, `cancel` aborts. The draft lives in a botwire
 * session (serialize mode), so the flow survives restarts and runs on any number of instances.
 */
import { Markup, Telegraf, type Context } from 'telegraf';
import type { SessionStore } from 'botwire';
import { session, type SessionFlavor } from 'botwire/telegraf';

interface Draft { name?: string; buyin?: number; photo?: string }
interface ChatSession { draft?: Draft; cardId?: number; editing?: boolean; saved?: number }
type BotContext = Context & SessionFlavor<ChatSession>;

const card = (d: Draft, title = '🏆 Draft tournament'): string =>
  `${title}\nName: ${d.name ?? '—'}\nBuy-in: ${d.buyin ?? '—'}${d.photo ? '\nPhoto: attached' : ''}`;

export function createBot(options: { token: string; apiRoot: string; store: SessionStore }): Telegraf<BotContext> {
  const bot = new Telegraf<BotContext>(options.token, { telegram: { apiRoot: options.apiRoot } });
  bot.use(session<ChatSession, BotContext>({
    store: options.store, concurrency: 'serialize', defaultSession: () => ({}), ttlMs: 24 * 3600_000,
    // One session per chat, as in the grammY app (Telegraf's default is per user per chat).
    getSessionKey: (ctx) => (ctx.chat ? String(ctx.chat.id) : undefined),
  }));

  const startDraft = async (ctx: BotContext, photo?: string): Promise<void> => {
    const draft: Draft = photo ? { photo } : {};
    const msg = await ctx.reply(card(draft), Markup.inlineKeyboard([Markup.button.callback('✏️ Edit', 'edit')]));
    ctx.session = { ...ctx.session, draft, cardId: msg.message_id, editing: false };
  };
  bot.command('new', (ctx) => startDraft(ctx));
  bot.on('photo', (ctx) => startDraft(ctx, ctx.message.photo.at(-1)!.file_id));
  bot.action('edit', async (ctx) => {
    await ctx.answerCbQuery();
    if (!ctx.session.draft) { await ctx.reply('This draft has expired. Send /new to start again.'); return; }
    ctx.session.editing = true;
    await ctx.reply('Send one field per message: name:<text> or buyin:<number>. Then done to save, or cancel.');
  });

  bot.on('text', async (ctx) => {
    const s = ctx.session;
    if (!s.editing) { await ctx.reply('Send /new or a photo to create a tournament.'); return; }
    const draft = s.draft ?? {};
    const line = ctx.message.text.trim();
    const editCard = (text: string) => (s.cardId ? ctx.telegram.editMessageText(ctx.chat.id, s.cardId, undefined, text).catch(() => undefined) : undefined);
    if (/^cancel$/i.test(line)) { ctx.session = {}; await ctx.reply('Cancelled. Nothing was saved.'); return; }
    if (/^done$/i.test(line)) {
      if (!draft.name || draft.buyin === undefined) { await ctx.reply('Almost there: send both name and buyin first.'); return; }
      const id = (s.saved ?? 0) + 1;
      await editCard(card(draft, `✅ Tournament #${id}`));
      ctx.session = { saved: id };
      await ctx.reply(`✅ Saved tournament #${id}: ${draft.name}, buy-in ${draft.buyin}.`);
      return;
    }
    const m = /^(\w+)\s*:\s*(.*)$/.exec(line);
    const field = m?.[1]?.toLowerCase();
    const value = m?.[2]?.trim() ?? '';
    if (field === 'name' && value.length > 0 && value.length <= 64) draft.name = value;
    else if (field === 'buyin' && /^\d{1,7}$/.test(value)) draft.buyin = Number(value);
    else {
      await ctx.reply(field === 'buyin' ? `"${value}" is not a buy-in: send a whole number, e.g. buyin:500`
        : `I did not understand "${line}". Send name:<text>, buyin:<number>, done or cancel.`);
      return;
    }
    s.draft = draft;
    await editCard(card(draft));
    await ctx.reply(`✓ ${field} = ${field === 'name' ? draft.name : draft.buyin}`);
  });
  return bot;
}
