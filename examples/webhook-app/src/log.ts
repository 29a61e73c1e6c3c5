/**
 * The app's logger: a small console logger with pino's call shape (`log.info(obj, msg)`), botwire's
 * `Logger`, so the session middleware and `updateLog()` log through it too. Swap in `pino()` for
 * production logging; call sites keep their shape.
 */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** JSON lines on stderr from `level` up (`LOG_LEVEL`, default `info`; `silent` for none). */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', name = 'webhook-app'): Logger {
  const min = level === 'silent' ? LEVELS.length : Math.max(0, LEVELS.indexOf(level as never));
  const at = (i: number) => (obj: unknown, msg?: string): void => {
    if (i < min) return;
    const fields = typeof obj === 'string' ? { msg: obj } : { ...(obj as object), msg };
    const line = JSON.stringify({ level: LEVELS[i], time: Date.now(), name, ...fields }, (_k, v: unknown) =>
      v instanceof Error ? { name: v.name, message: v.message } : v);
    process.stderr.write(`${line}\n`);
  };
  return { debug: at(0), info: at(1), warn: at(2), error: at(3) };
}
