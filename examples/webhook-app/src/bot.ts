/**
 * The grammY bot: every flow of the app, written as if the process lived forever — botwire's
 * session middleware makes that true for a webhook whose instances come and go.
 *
 * 1. /start: a keyboard from the `buttons` records, cached per instance and dropped on `buttons.*`.
 * 2. The edit flow: a photo or /new → a draft card → ✏️ Edit → `name:…`, `buyin:…` → `done`/`cancel`.
 * 3. /report: a durable job with partial results, finished by the next cron tick.
 * 4. /tasks: completing one credits the balance (`users.balance_updated`).
 * 5. Admin-only commands; 10 commands per minute per user.
 * 6. /imagine: a job limited fleet-wide, fair per chat.
 */
import { Bot, InlineKeyboard, Keyboard, type Context } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import type { SyncCache } from 'botwire/sync';
import type { JobQueue } from 'botwire/jobs';
import { rateLimit, session, updateLog, type SessionFlavor } from 'botwire/grammy';
import type { Backend } from './backend.js';
import type { AppConfig } from './config.js';
import { AppInputError, type AppData, type Button } from './data.js';
import type { Logger } from './log.js';

/** What one chat's session holds between updates (and instances). */
export interface ChatSession {
  /** The tournament being created by the edit flow. */
  draft?: { name?: string; buyin?: number; photo?: string };
  /** The draft card's message, edited as fields change. */
  cardId?: number;
  /** Set by ✏️ Edit: text lines are read as `field:value`. */
  editing?: boolean;
}

export type BotContext = Context & SessionFlavor<ChatSession>;

export interface BotDeps {
  config: AppConfig;
  backend: Backend;
  data: AppData;
  cache: SyncCache;
  queue: JobQueue;
  log: Logger;
}

const HELP = [
  '/start — main menu', '/new — create a tournament (or send a photo)', '/report — build a report',
  '/tasks — tasks and rewards', '/balance — your balance', '/payout <amount> — request a payout',
  '/imagine <prompt> — generate a picture', 'Admins: /stats, /setlimit <n>',
].join('\n');

function card(draft: NonNullable<ChatSession['draft']>, title = '🏆 Draft tournament'): string {
  return `${title}\nName: ${draft.name ?? '—'}\nBuy-in: ${draft.buyin ?? '—'}${draft.photo ? '\nPhoto: attached' : ''}`;
}

/** Build the bot. It has no `start()`: updates come in through the webhook route. */
export function createBot(deps: BotDeps): Bot<BotContext> {
  const { config, backend, data, cache, queue, log } = deps;
  const bot = new Bot<BotContext>(config.botToken, {
    client: { apiRoot: config.apiRoot },
    ...(config.botInfo ? { botInfo: JSON.parse(config.botInfo) as UserFromGetMe } : {}),
  });
  const fleet = { limits: backend.jobFeatures.includes('limits'), groups: backend.jobFeatures.includes('groups') };

  // One log line per update (id, type, chat, user, command, duration, outcome, session round trips;
  // the user's text redacted), first so that it times the whole update.
  bot.use(updateLog({ logger: log }));

  // Input errors become a reply; anything else fails the update (the webhook answers 500 and
  // Telegram delivers it again), and the session is not saved (the middleware's saveOnError: false).
  bot.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof AppInputError) { await ctx.reply(`⚠️ ${err.message}`); return; }
      log.error({ err, update: ctx.update.update_id }, 'update failed');
      throw err;
    }
  });

  // 5b. Commands are rate limited per user before anything else runs (a refused command costs one round trip).
  const limiter = rateLimit<BotContext>({
    // Sliding: a burst that straddles a minute boundary is still counted as one minute's worth.
    store: backend.rateLimits, limit: config.commandsPerMinute, windowMs: 60_000, window: 'sliding',
    onLimited: (ctx, hit) => ctx.reply(`⏳ Slow down: at most ${config.commandsPerMinute} commands a minute. Try again in ${Math.ceil(hit.resetMs / 1000)} s.`),
  });
  bot.use((ctx, next) => (ctx.message?.text?.startsWith('/') ? limiter(ctx, next) : next()));

  bot.use(session<ChatSession, BotContext>({
    store: backend.sessions, concurrency: 'serialize', initial: () => ({}), ttlMs: 24 * 3600_000,
    logger: log,
  }));

  // 5a. Admin-only commands.
  const adminOnly = (handler: (ctx: BotContext) => Promise<unknown>) => async (ctx: BotContext): Promise<void> => {
    if (!ctx.from || !config.adminIds.has(ctx.from.id)) {
      await ctx.reply('Sorry, this command is for admins only.');
      return;
    }
    await handler(ctx);
  };

  // 1. Main keyboard from the buttons records, one load per instance until a `buttons.*` event.
  const keyboard = (): Promise<Button[]> => cache.getOrLoad('keyboard:main', () => data.keyboard(), { tags: ['buttons'] }) as Promise<Button[]>;
  const welcome = (): Promise<Record<string, string>> => cache.getOrLoad('settings', () => data.settings(), { tags: ['settings'] }) as Promise<Record<string, string>>;

  const actions: Record<string, (ctx: BotContext) => Promise<unknown>> = {
    help: (ctx) => ctx.reply(HELP),
    new: async (ctx) => startDraft(ctx),
    report: async (ctx) => startReport(ctx),
    tasks: async (ctx) => showTasks(ctx),
    balance: async (ctx) => ctx.reply(`💰 Balance: ${(await data.user(ctx.from!.id))?.balance ?? 0}`),
    imagine: async (ctx) => ctx.reply('Send /imagine followed by what to draw, e.g. /imagine a red fox'),
  };

  bot.command('start', async (ctx) => {
    await data.ensureUser(ctx.from!.id, ctx.from!.first_name);
    const buttons = await keyboard();
    const kb = new Keyboard();
    buttons.forEach((b, i) => { kb.text(b.label); if (i % 2 === 1) kb.row(); });
    await ctx.reply((await welcome()).welcome ?? 'Welcome!', { reply_markup: kb.resized() });
  });
  bot.command('help', (ctx) => ctx.reply(HELP));

  // 2. The edit flow.
  async function startDraft(ctx: BotContext, photo?: string): Promise<void> {
    const draft = photo ? { photo } : {};
    const msg = await ctx.reply(card(draft), { reply_markup: new InlineKeyboard().text('✏️ Edit', 'edit') });
    ctx.session = { draft, cardId: msg.message_id, editing: false };
  }
  bot.command('new', (ctx) => startDraft(ctx));
  bot.on('message:photo', (ctx) => startDraft(ctx, ctx.message.photo.at(-1)!.file_id));
  bot.callbackQuery('edit', async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.session.draft) { await ctx.reply('This draft has expired. Send /new to start again.'); return; }
    ctx.session.editing = true;
    await ctx.reply('Send one field per message: name:<text> or buyin:<number>. Then done to save, or cancel.');
  });

  async function editLine(ctx: BotContext, text: string): Promise<void> {
    const s = ctx.session;
    const draft = s.draft ?? {};
    const line = text.trim();
    if (/^cancel$/i.test(line)) {
      ctx.session = {};
      await ctx.reply('Cancelled. Nothing was saved.');
      return;
    }
    if (/^done$/i.test(line)) {
      if (!draft.name || draft.buyin === undefined) {
        await ctx.reply(`Almost there: still missing ${[!draft.name && 'name', draft.buyin === undefined && 'buyin'].filter(Boolean).join(' and ')}.`);
        return;
      }
      const saved = await data.saveTournament(ctx.chat!.id, { name: draft.name, buyin: draft.buyin, ...(draft.photo ? { photo: draft.photo } : {}) });
      if (s.cardId) await ctx.api.editMessageText(ctx.chat!.id, s.cardId, card(draft, `✅ Tournament #${saved.id}`)).catch(() => undefined);
      ctx.session = {};
      await ctx.reply(`✅ Saved tournament #${saved.id}: ${saved.name}, buy-in ${saved.buyin}.`);
      return;
    }
    const m = /^(\w+)\s*:\s*(.*)$/.exec(line);
    const field = m?.[1]?.toLowerCase();
    const value = m?.[2]?.trim() ?? '';
    if (field === 'name' && value.length > 0 && value.length <= 64) {
      draft.name = value;
    } else if (field === 'buyin' && /^\d{1,7}$/.test(value)) {
      draft.buyin = Number(value);
    } else {
      await ctx.reply(field === 'buyin'
        ? `"${value}" is not a buy-in: send a whole number, e.g. buyin:500`
        : field === 'name'
          ? 'A name needs 1 to 64 characters, e.g. name:Sunday Major'
          : `I did not understand "${line}". Send name:<text>, buyin:<number>, done or cancel.`);
      return;
    }
    s.draft = draft;
    if (s.cardId) await ctx.api.editMessageText(ctx.chat!.id, s.cardId, card(draft)).catch(() => undefined);
    await ctx.reply(`✓ ${field} = ${field === 'name' ? draft.name : draft.buyin}`);
  }

  // 3. /report as a job.
  async function startReport(ctx: BotContext): Promise<void> {
    const msg = await ctx.reply('📊 Report queued…');
    const job = await queue.add('report', { chatId: ctx.chat!.id, messageId: msg.message_id }, {
      id: `report:${ctx.chat!.id}:${msg.message_id}`,
      backoff: { type: 'fixed', delayMs: config.reportRetryMs },
      retryUntil: Date.now() + 3 * 3600_000,
      timeoutMs: 20_000,
    });
    log.info({ job: job.id }, 'report queued');
  }
  bot.command('report', (ctx) => startReport(ctx));

  // 4. Tasks and balance.
  async function showTasks(ctx: BotContext): Promise<void> {
    const [tasks, user] = await Promise.all([data.list('tasks'), data.user(ctx.from!.id)]);
    const open = tasks.filter((t) => !user?.completed.includes(t.id));
    if (!open.length) { await ctx.reply('All tasks done. 🎉'); return; }
    const kb = new InlineKeyboard();
    for (const t of open) kb.text(`✅ ${String(t.title)} (+${String(t.reward)})`, `task:${t.id}`).row();
    await ctx.reply('📋 Tasks:', { reply_markup: kb });
  }
  bot.command('tasks', (ctx) => showTasks(ctx));
  bot.callbackQuery(/^task:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    await data.ensureUser(ctx.from.id, ctx.from.first_name);
    const done = await data.completeTask(ctx.from.id, Number(ctx.match[1]));
    await ctx.reply(done ? `🎉 ${done.task.title}: +${done.task.reward}. Balance: ${done.user.balance}` : 'You have done this task already.');
  });
  bot.command('balance', (ctx) => actions.balance!(ctx));
  bot.command('payout', async (ctx) => {
    const p = await data.requestPayout(ctx.from!.id, Number(ctx.match));
    await ctx.reply(`💸 Payout #${p.id} of ${p.amount} requested; an admin will review it.`);
  });

  // 6. /imagine: limited to 3 at once fleet-wide, one at a time per chat, where the job backend can.
  bot.command('imagine', async (ctx) => {
    const prompt = ctx.match.trim();
    if (!prompt) { await ctx.reply('What should I draw? e.g. /imagine a red fox'); return; }
    await queue.add('imagine', { chatId: ctx.chat!.id, prompt }, {
      timeoutMs: 30_000, attempts: 2, ...(fleet.groups ? { group: `chat:${ctx.chat!.id}` } : {}),
    });
    await ctx.reply(`🎨 Queued: “${prompt}”.`);
  });

  bot.command('stats', adminOnly(async (ctx) => {
    const users = await data.users();
    const counts = backend.jobFeatures.includes('counts') ? await queue.counts() : undefined;
    await ctx.reply(`👥 ${users.length} users, total balance ${users.reduce((s, u) => s + u.balance, 0)}`
      + (counts ? `\n⚙️ jobs: ${counts.active} active, ${counts.waiting} waiting, ${counts.failed} failed` : ''));
  }));
  bot.command('setlimit', adminOnly(async (ctx) => {
    const n = Number(ctx.match);
    if (!fleet.limits) { await ctx.reply(`The ${backend.kind} job backend has no fleet limits.`); return; }
    if (!Number.isInteger(n) || n < 1) { await ctx.reply('Send /setlimit <n>, n ≥ 1'); return; }
    await queue.setLimit('imagine', { concurrency: n });
    await ctx.reply(`/imagine now runs at most ${n} at once, fleet-wide.`);
  }));

  // Text: the edit flow when editing, else a keyboard button, else help.
  bot.on('message:text', async (ctx) => {
    if (ctx.session.editing) return editLine(ctx, ctx.message.text);
    const button = (await keyboard()).find((b) => b.label === ctx.message.text);
    const action = button && actions[button.action];
    if (action) return action(ctx);
    await ctx.reply('Send /help to see what I can do.');
  });

  return bot;
}
