/**
 * The scripted conversation the demo prints and the end-to-end tests check, on any backend:
 * the edit flow with a cold start in the middle, /report finished by the next tick, tasks and
 * balance, admin-only commands, an admin's button edit reaching the keyboard, a rate-limit hit and
 * /imagine. With two app processes, updates alternate between them.
 */
import type { Harness } from './harness.js';

export interface ConversationOptions {
  /** Delay before a partial report is retried (the app's `REPORT_RETRY_MS`). */
  reportRetryMs: number;
  /** Skip the rate-limit burst (11 commands). @default false */
  skipRateLimit?: boolean;
}

/**
 * The edit flow alone (also what the Telegraf twin runs): /new → Edit → a bad line, an early `done`,
 * `cancel`; then photo → Edit → name → restart → buyin (a bad one first) → done.
 */
export async function editFlow(h: Harness, restart: () => Promise<void>): Promise<void> {
  const alice = h.user(1001, 'Alice');
  await alice.say('/new');
  await alice.press('edit');
  await alice.say('hello');
  await alice.say('done');
  await alice.say('cancel');
  await alice.photo('Sunday Major');
  await alice.press('edit');
  await alice.say('name:TestTournament123');
  await restart();
  await alice.say('buyin:abc');
  await alice.say('buyin:500');
  await alice.say('done');
}

export async function playConversation(h: Harness, options: ConversationOptions): Promise<void> {
  const alice = h.user(1001, 'Alice');
  const boss = h.user(1, 'Boss');
  const carol = h.user(1003, 'Carol');

  await alice.say('/start');
  await editFlow(h, async () => {
    // A cold start between two updates of one conversation: the draft lives in the session store.
    for (let i = 0; i < h.apps.length; i++) await h.restart(i);
  });

  await alice.say('/report');
  await h.tick();
  await new Promise((resolve) => setTimeout(resolve, options.reportRetryMs + 100));
  await h.tick();

  await alice.say('/tasks');
  await alice.press('task:1');
  await alice.say('/stats');
  await boss.say('/stats');

  // Every instance shows (and caches) the keyboard; an admin renames a button on the instance that
  // will not serve the next update, so with two instances the change reaches the other one's cache
  // through the bus (buttons.updated → SyncCache invalidation).
  for (let i = 0; i < h.apps.length; i++) await alice.say('/start');
  const other = (h.relay.served.length + 1) % h.apps.length;
  await h.admin('PATCH', 'buttons/1', { label: '📋 Quests' }, other);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await alice.say('/start');

  if (!options.skipRateLimit) {
    for (let i = 0; i < 11; i++) await carol.say('/balance');
  }

  await alice.say('/imagine a red fox in the snow');
  await h.tick();
}

/** What the edit flow must show, in order (the grammY app and the Telegraf twin alike). */
export const EDIT_FLOW_EXPECTED = [
  '🏆 Draft tournament\nName: —\nBuy-in: —\n[✏️ Edit]', // /new: a card without a photo
  'I did not understand "hello"',
  'Almost there', // done before name and buy-in
  'Cancelled. Nothing was saved.',
  '🏆 Draft tournament\nName: —\nBuy-in: —\nPhoto: attached',
  '✓ name = TestTournament123',
  'cold start next',
  '"abc" is not a buy-in',
  'Name: TestTournament123\n', // the card edited after the cold start still has the name
  '✓ buyin = 500',
  '✅ Saved tournament #1: TestTournament123, buy-in 500.',
];

/** Throw (with the transcript and the app's logs) unless every part appears in `h`'s conversation, in order. */
export function assertInOrder(h: Harness, parts: readonly string[]): void {
  const text = h.text();
  let from = 0;
  for (const part of parts) {
    const at = text.indexOf(part, from);
    if (at < 0) {
      throw new Error(`the conversation lacks "${part}" after position ${from}:\n${h.transcript()}\n\napp logs:\n${h.apps.map((a) => a.logs()).join('\n')}`);
    }
    from = at + part.length;
  }
}
