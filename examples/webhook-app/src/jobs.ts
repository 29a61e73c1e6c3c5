/**
 * The app's jobs. They run in a cron tick (Vercel: `/api/cron/tick` every 5 minutes) or in a
 * Worker (`WORKER=1` on a VPS) — the handlers do not know which.
 *
 * - `report` collects three sources. `exchange` fails on the job's first run (a flaky provider), so
 *   the job ends `partial`, keeps what it has, and the next tick fetches only what is missing.
 *   The user's "queued" message is edited as sources come in; the report arrives as a new message.
 * - `imagine` stands in for an AI call (sleeps 1–3 s). The queue limits it to 3 at once across the
 *   fleet and takes turns between chats (`limits`, `groups`) where the job backend supports them.
 */
import type { Api } from 'grammy';
import type { JobHandlers } from 'botwire/jobs';
import type { AppConfig } from './config.js';

export const REPORT_SOURCES = ['sales', 'weather', 'exchange'] as const;
type Report = Record<string, string>;

async function loadSource(source: string, firstRun: boolean, signal: AbortSignal): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  signal.throwIfAborted();
  if (source === 'exchange' && firstRun) throw new Error('exchange: provider answered 503');
  const value = { sales: '128 orders, 9,870 ₽', weather: '+4 °C, light snow', exchange: 'USD/RUB 92.4' }[source];
  return value ?? 'n/a';
}

/** Job handlers; `api` is the bot's API client (sends and edits messages). */
export function jobHandlers(api: Api, config: AppConfig): JobHandlers {
  return {
    report: async ({ job, partial, progress, signal }) => {
      const { chatId, messageId } = job.payload as { chatId: number; messageId: number };
      const firstRun = job.missing.length === 0 && job.result === undefined;
      const merged: Report = { ...(job.result as Report | undefined) };
      const wanted = job.missing.length ? job.missing : [...REPORT_SOURCES];
      const failed: string[] = [];
      for (const source of wanted) {
        try {
          merged[source] = await loadSource(source, firstRun, signal);
        } catch {
          failed.push(source);
        }
        const have = Object.keys(merged).length;
        await progress(Math.round((100 * have) / REPORT_SOURCES.length), `${have}/${REPORT_SOURCES.length} sources`);
        await api.editMessageText(chatId, messageId, `📊 Report: ${have}/${REPORT_SOURCES.length} sources…`).catch(() => undefined);
      }
      if (failed.length) {
        await api.editMessageText(chatId, messageId,
          `📊 Report: ${Object.keys(merged).length}/${REPORT_SOURCES.length} sources; ${failed.join(', ')} unavailable, retrying at the next tick.`).catch(() => undefined);
        await partial(merged, { missing: failed });
        return merged;
      }
      await api.editMessageText(chatId, messageId, '📊 Report: complete.').catch(() => undefined);
      await api.sendMessage(chatId, `📊 Your report\n${REPORT_SOURCES.map((s) => `• ${s}: ${merged[s]}`).join('\n')}`);
      return merged;
    },

    imagine: async ({ job, signal }) => {
      const { chatId, prompt } = job.payload as { chatId: number; prompt: string };
      const [min, max] = config.imagineMs;
      const ms = min + Math.round(Math.random() * (max - min));
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
      });
      await api.sendMessage(chatId, `🖼 “${prompt}” — generated in ${(ms / 1000).toFixed(1)} s`);
      return { ms };
    },
  };
}
