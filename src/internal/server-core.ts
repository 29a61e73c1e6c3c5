/**
 * Build-time only: the core modules every server-side entry shares (see `serverCore` in
 * tsup.config.ts). Nothing imports this file; the build adds an import of it to each entry listed
 * in `SERVER_ENTRIES`, so that all of them reach the same core modules and esbuild's code splitting
 * (which groups modules by the set of entries that reach them) puts those modules into one chunk
 * instead of a dozen: Node's ESM loader spends more per module (resolve, read, link) than compiling
 * the tens of KB the merged chunk adds for an entry that uses less of the core.
 *
 * @internal
 * @module
 */
export * from '../adapter-kit/index.js';
export * from '../jobs/index.js';
export * from '../sync/index.js';
export { createSessionMiddleware } from '../session/session-engine.js';
export { createRateLimitMiddleware } from '../rate-limit/rate-limit-middleware.js';
export { createUpdateLog } from '../logging/update-log.js';
export { moveSession } from '../session/move-session.js';
