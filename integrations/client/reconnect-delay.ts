/**
 * Reconnect delays for the sync client.
 *
 * @module
 */

/** How reconnect delays grow: exponentially, with jitter. */
export interface ReconnectDelayOptions {
  /** Delay before the first retry. @default 500 */
  initialMs?: number;
  /** Upper bound of any delay. @default 30_000 */
  maxMs?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
}

/**
 * Delay before retry number `attempt` (0-based): `min(maxMs, initialMs · factor^attempt)`, then a
 * random point in its upper half ("equal jitter") so a gateway restart does not bring every
 * browser back in the same millisecond, while no retry comes sooner than half the nominal delay.
 *
 * @example
 * ```ts
 * reconnectDelay(0); // 250–500 ms
 * reconnectDelay(10); // 15–30 s
 * ```
 */
export function reconnectDelay(attempt: number, options: ReconnectDelayOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const nominal = Math.min(max, initial * factor ** Math.min(attempt, 64));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}
