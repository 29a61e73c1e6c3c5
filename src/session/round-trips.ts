/**
 * The session middleware counts the backend round trips of each update on the update's context,
 * under a registered symbol, when an outer middleware (`updateLog()`) asked for it by setting the
 * count to 0; otherwise counting is one failed property lookup.
 *
 * @module
 */

/** Where an update's session round trips are counted on its context. @internal */
export const ROUND_TRIPS: unique symbol = Symbol.for('botwire.sessionRoundTrips');

/** Count one backend round trip for the update whose context is `ctx`, if someone is counting. @internal */
export function countRoundTrip(ctx: unknown): void {
  const c = ctx as { [ROUND_TRIPS]?: number };
  if (c[ROUND_TRIPS] !== undefined) c[ROUND_TRIPS]++;
}
