/**
 * The app's domain: buttons, tasks, scenarios (generic CRUD), users and balances, settings, payouts
 * and tournaments. Every change publishes its event from `AppTopics` after the write, so the bot's
 * caches and open admin pages follow — this file is the only place that writes app records.
 */
import type { SyncBus } from 'botwire/sync';
import type { Records } from './records.js';
import type { AppTopics, CrudCollection, PayoutStatus } from './topics.js';

/** A row of the generic collections; `id` is assigned on create. */
export interface Item { id: number; [field: string]: unknown }
/** A keyboard button: `action` names what the bot does when it is pressed. */
export interface Button extends Item { label: string; action: string; order: number; active: boolean }
export interface Task extends Item { title: string; reward: number }
export interface User { id: number; name: string; balance: number; completed: number[]; createdAt: string }
export interface Payout { id: number; userId: number; amount: number; status: PayoutStatus; createdAt: string }
export interface Tournament { id: number; name: string; buyin: number; photo?: string; savedAt: string }

/** Input a caller got wrong; the HTTP layer answers 400 with the message, the bot replies with it. */
export class AppInputError extends Error {
  override name = 'AppInputError';
}

interface Table<T> { nextId: number; items: T[] }
const table = <T>(): Table<T> => ({ nextId: 1, items: [] });

/** Fields each collection accepts, with their types; anything else is refused. */
const FIELDS: Record<CrudCollection, Record<string, 'string' | 'number' | 'boolean'>> = {
  buttons: { label: 'string', action: 'string', order: 'number', active: 'boolean' },
  tasks: { title: 'string', reward: 'number' },
  scenarios: { title: 'string', text: 'string' },
};

/** The bot's actions a button may trigger (`buttons.action`). */
export const BUTTON_ACTIONS = ['tasks', 'new', 'report', 'imagine', 'balance', 'help'] as const;

function checkFields(collection: CrudCollection, body: unknown, partial: boolean): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppInputError('send a JSON object');
  const fields = FIELDS[collection];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'id') continue;
    const type = fields[key];
    if (!type) throw new AppInputError(`${collection} have no field "${key}"; fields: ${Object.keys(fields).join(', ')}`);
    if (typeof value !== type) throw new AppInputError(`${collection}.${key} must be a ${type}`);
    out[key] = value;
  }
  if (!partial) {
    const missing = Object.keys(fields).filter((k) => !(k in out) && !(collection === 'buttons' && (k === 'order' || k === 'active')));
    if (missing.length) throw new AppInputError(`${collection} need ${missing.join(', ')}`);
  }
  if (collection === 'buttons' && typeof out.action === 'string' && !(BUTTON_ACTIONS as readonly string[]).includes(out.action)) {
    throw new AppInputError(`buttons.action must be one of ${BUTTON_ACTIONS.join(', ')}`);
  }
  return out;
}

/** The default keyboard and tasks, written on the first start of an empty backend. */
const SEED = {
  buttons: [
    { label: '📋 Tasks', action: 'tasks', order: 1, active: true },
    { label: '🏆 New tournament', action: 'new', order: 2, active: true },
    { label: '📊 Report', action: 'report', order: 3, active: true },
    { label: '💰 Balance', action: 'balance', order: 4, active: true },
  ],
  tasks: [
    { title: 'Subscribe to the channel', reward: 10 },
    { title: 'Invite a friend', reward: 25 },
    { title: 'Fill in your profile', reward: 5 },
  ],
};

/** The app's data over {@link Records}, publishing every change on `bus`. */
export class AppData {
  constructor(private readonly records: Records, private readonly bus: SyncBus<AppTopics>) {}

  /** Write the default buttons and tasks when there are none (idempotent, safe on every start). */
  async seed(): Promise<void> {
    for (const collection of ['buttons', 'tasks'] as const) {
      await this.records.update(`app:${collection}`, table<Item>, (t) => {
        if (t.nextId > 1) return;
        for (const row of SEED[collection]) t.items.push({ id: t.nextId++, ...row });
      });
    }
  }

  // ---- generic CRUD: buttons, tasks, scenarios ----

  async list<T extends Item = Item>(collection: CrudCollection): Promise<T[]> {
    return (await this.records.read<Table<T>>(`app:${collection}`, table())).items;
  }

  async create(collection: CrudCollection, body: unknown): Promise<Item> {
    const fields = checkFields(collection, body, false);
    const item = await this.records.update(`app:${collection}`, table<Item>, (t) => {
      const row: Item = { id: t.nextId++, ...(collection === 'buttons' ? { order: t.nextId, active: true } : {}), ...fields };
      t.items.push(row);
      return row;
    });
    await this.bus.publish(`${collection}.created`, { id: item.id });
    return item;
  }

  async update(collection: CrudCollection, id: number, body: unknown): Promise<Item> {
    const fields = checkFields(collection, body, true);
    const item = await this.records.update(`app:${collection}`, table<Item>, (t) => {
      const row = t.items.find((r) => r.id === id);
      if (!row) throw new AppInputError(`no ${collection} row with id ${id}`);
      Object.assign(row, fields);
      return row;
    });
    await this.bus.publish(`${collection}.updated`, { id });
    return item;
  }

  async remove(collection: CrudCollection, id: number): Promise<void> {
    await this.records.update(`app:${collection}`, table<Item>, (t) => {
      const at = t.items.findIndex((r) => r.id === id);
      if (at < 0) throw new AppInputError(`no ${collection} row with id ${id}`);
      t.items.splice(at, 1);
    });
    await this.bus.publish(`${collection}.deleted`, { id });
  }

  /** Active buttons in keyboard order. */
  async keyboard(): Promise<Button[]> {
    return (await this.list<Button>('buttons')).filter((b) => b.active).sort((a, b) => a.order - b.order);
  }

  // ---- users and balances ----

  async users(): Promise<User[]> {
    return Object.values(await this.records.read<Record<string, User>>('app:users', {}));
  }

  async user(id: number): Promise<User | undefined> {
    return (await this.records.read<Record<string, User>>('app:users', {}))[id];
  }

  /** The user, created (and `users.created` published) on first sight. */
  async ensureUser(id: number, name: string): Promise<User> {
    const { user, created } = await this.records.update('app:users', () => ({} as Record<string, User>), (users) => {
      const existing = users[id];
      if (existing) return { user: existing, created: false };
      return { user: (users[id] = { id, name, balance: 0, completed: [], createdAt: new Date().toISOString() }), created: true };
    });
    if (created) await this.bus.publish('users.created', { userId: id });
    return user;
  }

  async updateUser(id: number, body: unknown): Promise<User> {
    const name = (body as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !name.trim()) throw new AppInputError('send { "name": "…" }');
    const user = await this.records.update('app:users', () => ({} as Record<string, User>), (users) => {
      const u = users[id];
      if (!u) throw new AppInputError(`no user ${id}`);
      u.name = name.trim();
      return u;
    });
    await this.bus.publish('users.updated', { userId: id });
    return user;
  }

  /** Add `delta` (may be negative, never below 0) and publish `users.balance_updated`. */
  async addBalance(userId: number, delta: number): Promise<User> {
    if (!Number.isInteger(delta)) throw new AppInputError('delta must be a whole number');
    const user = await this.records.update('app:users', () => ({} as Record<string, User>), (users) => {
      const u = users[userId];
      if (!u) throw new AppInputError(`no user ${userId}`);
      if (u.balance + delta < 0) throw new AppInputError(`balance ${u.balance} is too low for ${delta}`);
      u.balance += delta;
      return u;
    });
    await this.bus.publish('users.balance_updated', { userId, balance: user.balance, delta });
    return user;
  }

  /** Credit a task's reward once per user; `undefined` when it was done before. */
  async completeTask(userId: number, taskId: number): Promise<{ task: Task; user: User } | undefined> {
    const task = (await this.list<Task>('tasks')).find((t) => t.id === taskId);
    if (!task) throw new AppInputError('this task no longer exists');
    const user = await this.records.update('app:users', () => ({} as Record<string, User>), (users) => {
      const u = users[userId];
      if (!u) throw new AppInputError('send /start first');
      if (u.completed.includes(taskId)) return undefined;
      u.completed.push(taskId);
      u.balance += task.reward;
      return u;
    });
    if (!user) return undefined;
    await this.bus.publish('users.balance_updated', { userId, balance: user.balance, delta: task.reward });
    return { task, user };
  }

  // ---- settings ----

  async settings(): Promise<Record<string, string>> {
    return this.records.read<Record<string, string>>('app:settings', { welcome: 'Welcome! Pick an action below.' });
  }

  async setSetting(key: string, value: unknown): Promise<void> {
    if (!/^[a-z_]{1,40}$/.test(key) || typeof value !== 'string') throw new AppInputError('send { "key": "welcome", "value": "…" }');
    await this.records.update('app:settings', () => ({ welcome: 'Welcome! Pick an action below.' } as Record<string, string>), (s) => { s[key] = value; });
    await this.bus.publish('settings.updated', { key });
  }

  // ---- payouts ----

  async payouts(): Promise<Payout[]> {
    return (await this.records.read<Table<Payout>>('app:payouts', table())).items;
  }

  async requestPayout(userId: number, amount: number): Promise<Payout> {
    if (!Number.isInteger(amount) || amount <= 0) throw new AppInputError('the amount must be a positive whole number, e.g. /payout 20');
    const user = await this.user(userId);
    if (!user || user.balance < amount) throw new AppInputError(`your balance is ${user?.balance ?? 0}`);
    const payout = await this.records.update('app:payouts', table<Payout>, (t) => {
      const p: Payout = { id: t.nextId++, userId, amount, status: 'pending', createdAt: new Date().toISOString() };
      t.items.push(p);
      return p;
    });
    await this.bus.publish('payouts.created', { id: payout.id, userId, amount });
    return payout;
  }

  /** Approve (debiting the balance first, so a balance too low refuses the approval) or decline a pending payout. */
  async decidePayout(id: number, approve: boolean): Promise<Payout> {
    const pending = (await this.payouts()).find((x) => x.id === id);
    if (!pending) throw new AppInputError(`no payout ${id}`);
    if (pending.status !== 'pending') throw new AppInputError(`payout ${id} is ${pending.status} already`);
    if (approve) await this.addBalance(pending.userId, -pending.amount);
    let payout: Payout;
    try {
      payout = await this.records.update('app:payouts', table<Payout>, (t) => {
        const p = t.items.find((x) => x.id === id)!;
        if (p.status !== 'pending') throw new AppInputError(`payout ${id} is ${p.status} already`);
        p.status = approve ? 'approved' : 'declined';
        return { ...p };
      });
    } catch (err) {
      // Another admin decided it meanwhile: give the debit back.
      if (approve) await this.addBalance(pending.userId, pending.amount);
      throw err;
    }
    await this.bus.publish('payouts.updated', { id, status: payout.status });
    await this.bus.publish(approve ? 'payouts.approved' : 'payouts.declined', { id, userId: payout.userId });
    return payout;
  }

  // ---- tournaments (the edit flow's result) ----

  async saveTournament(chatId: number, draft: { name: string; buyin: number; photo?: string }): Promise<Tournament> {
    const t = await this.records.update(`app:tournaments:${chatId}`, table<Tournament>, (tb) => {
      const row: Tournament = { id: tb.nextId++, ...draft, savedAt: new Date().toISOString() };
      tb.items.push(row);
      return row;
    });
    await this.bus.publish('tournaments.created', { chatId, id: t.id });
    return t;
  }

  async tournaments(chatId: number): Promise<Tournament[]> {
    return (await this.records.read<Table<Tournament>>(`app:tournaments:${chatId}`, table())).items;
  }
}
