/**
 * HTTP Basic sign-in for the dashboard, for setups without their own user sessions.
 *
 * @module
 */
import { BotwireConfigError } from '../../src/errors.js';
import { safeEqual } from '../http/respond.js';
import type { DashboardAuthorize } from './dashboard-options.js';

/**
 * An `authorize` that allows every action to requests carrying `Authorization: Basic` with this
 * user name and password (compared in constant time). Pair it with
 * `challenge: 'Basic realm="…"'`, so browsers ask for the password, and serve the page over HTTPS
 * only: Basic credentials travel with every request.
 *
 * @throws {BotwireConfigError} for an empty user name, a `:` in it, or a password under 12 characters.
 * @example
 * ```ts
 * const handle = dashboardHandler({
 *   queue, challenge: 'Basic realm="botwire"',
 *   authorize: basicAuthorize('admin', process.env.DASHBOARD_PASSWORD!),
 * });
 * ```
 */
export function basicAuthorize(username: string, password: string): DashboardAuthorize {
  if (typeof username !== 'string' || username === '' || username.includes(':')) {
    throw new BotwireConfigError('basicAuthorize needs a user name without ":".');
  }
  if (typeof password !== 'string' || password.length < 12) {
    throw new BotwireConfigError('basicAuthorize needs a password of at least 12 characters; generate one with `openssl rand -base64 18`.');
  }
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  const expected = `Basic ${btoa(binary)}`;
  return (request) => safeEqual(request.headers.get('authorization') ?? '', expected);
}
