/**
 * Loading optional peer packages (`ioredis`, `pg`, `ws`) on first use, with one error for every
 * adapter and integration when the package is not installed.
 *
 * @module
 */
import { BotwireConfigError } from '../errors.js';

/**
 * Load the optional peer package `name` through `load`, or throw a {@link BotwireConfigError} that
 * names the package to install and what needs it.
 *
 * `load` must be a literal `() => import('<name>')`: bundlers (esbuild, webpack, Vercel's file
 * tracing) see the peer only in a literal import and leave a computed one out of the bundle.
 *
 * @param name the package, as installed with `npm install <name>`
 * @param forWhat what needs it, e.g. `'botwire/redis (connecting by url)'`
 * @param load the literal dynamic import of `name`
 *
 * @example
 * ```ts
 * const mod = await importPeer('ioredis', 'botwire/redis (connecting by url)', () => import('ioredis'));
 * ```
 */
export async function importPeer<M>(name: string, forWhat: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (cause) {
    throw Object.assign(
      new BotwireConfigError(`${forWhat} needs the "${name}" package: run \`npm install ${name}\`.`),
      { cause },
    );
  }
}
