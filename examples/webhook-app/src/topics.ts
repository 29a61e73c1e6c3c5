/**
 * The app's events: one typed catalogue for the bot, the admin API, jobs and browsers. Every CRUD
 * path of the app publishes here (`src/data.ts`), and the bot's keyboard cache is invalidated by
 * `buttons.*` (`src/bot.ts`). Payloads carry ids, not records: receivers load the fresh row.
 */
import type { JobEvent } from 'botwire/jobs';

export interface AppTopics {
  'scenarios.created': { id: number };
  'scenarios.updated': { id: number };
  'scenarios.deleted': { id: number };
  'buttons.created': { id: number };
  'buttons.updated': { id: number };
  'buttons.deleted': { id: number };
  'tasks.created': { id: number };
  'tasks.updated': { id: number };
  'tasks.deleted': { id: number };
  'settings.updated': { key: string };
  'users.created': { userId: number };
  'users.updated': { userId: number };
  'users.balance_updated': { userId: number; balance: number; delta: number };
  'payouts.created': { id: number; userId: number; amount: number };
  'payouts.updated': { id: number; status: PayoutStatus };
  'payouts.approved': { id: number; userId: number };
  'payouts.declined': { id: number; userId: number };
  /** Not in the seed's catalogue: a tournament saved by the edit flow. */
  'tournaments.created': { chatId: number; id: number };
  /** Job state changes the queue publishes (`jobs.report.completed` …), shown live by the ops dashboard. */
  [topic: `jobs.${string}`]: JobEvent;
}

/** Where a payout request stands. */
export type PayoutStatus = 'pending' | 'approved' | 'declined';

/** The collections managed by the generic admin CRUD (each publishes `<name>.created|updated|deleted`). */
export const CRUD_COLLECTIONS = ['buttons', 'tasks', 'scenarios'] as const;
export type CrudCollection = (typeof CRUD_COLLECTIONS)[number];
