/**
 * What the Node server says when its worker starts and when it shuts down (`onLifecycle` of
 * `Worker` and `shutdown()`): one log line each, and with `NOTIFY_ADMINS=1` a Telegram message to
 * every admin in `ADMIN_IDS` — so whoever runs the bot sees a deploy or a crash loop without
 * reading logs. `shutdown()` waits for the messages (at most its step bound) before the process exits.
 */
import type { LifecycleEvent, LifecycleListener } from 'botwire';
import type { App } from './app.js';

/** The admins' message for `event`, or undefined for events not worth a message. */
export function lifecycleText(event: LifecycleEvent, instance: string): string | undefined {
  switch (event.type) {
    case 'worker.started': return `✅ ${instance}: worker started (${event.names.join(', ')} × ${event.concurrency})`;
    case 'shutdown.started': return `🔻 ${instance}: stopping (${event.signal ?? 'shutdown'}), running jobs get ${event.graceMs / 1000} s`;
    case 'shutdown.finished': return event.ok
      ? `🛑 ${instance}: stopped in ${event.durationMs} ms`
      : `⚠️ ${instance}: stopped in ${event.durationMs} ms with errors: ${event.steps.filter((s) => !s.ok).map((s) => `${s.step} (${s.errors.join(', ')})`).join('; ')}`;
    default: return undefined;
  }
}

/** The `onLifecycle` listener of the Node server. */
export function lifecycleNotices(app: App, instance = process.env.HOSTNAME || `pid ${process.pid}`): LifecycleListener {
  const admins = app.config.notifyAdmins ? [...app.config.adminIds] : [];
  return async (event) => {
    const { type, ...fields } = event;
    app.log.info({ event: type, ...fields }, type.replace('.', ' '));
    const text = lifecycleText(event, instance);
    if (!text || admins.length === 0) return;
    await Promise.all(admins.map((id) => app.bot.api.sendMessage(id, text).catch((err: unknown) => {
      app.log.warn({ err, admin: id }, 'lifecycle notice not sent');
    })));
  };
}
