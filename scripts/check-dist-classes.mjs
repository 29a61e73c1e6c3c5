// After the build: every entry shares ONE copy of the core classes (code splitting), so an error
// thrown inside `botwire/redis` is `instanceof BotwireError` from `botwire`, and the classes the
// adapter kit re-exports are the very ones `botwire` exports — in the ESM and in the CJS build.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const builds = {
  esm: async (entry) => import(`../dist/${entry}.js`),
  cjs: async (entry) => require(`../dist/${entry}.cjs`),
};
const bad = [];
for (const [format, load] of Object.entries(builds)) {
  const core = await load('index');
  const jobs = await load('jobs');
  const sync = await load('sync');
  const kit = await load('adapter-kit');
  for (const name of ['BotwireError', 'BotwireConfigError', 'SessionStore', 'RateLimitStore']) {
    if (kit[name] !== core[name]) bad.push(`${format}: botwire/adapter-kit ${name} is not botwire's`);
  }
  if (kit.JobQueue !== jobs.JobQueue) bad.push(`${format}: botwire/adapter-kit JobQueue is not botwire/jobs'`);
  if (kit.createSyncBus !== sync.createSyncBus) bad.push(`${format}: botwire/adapter-kit createSyncBus is not botwire/sync's`);
  for (const [entry, factory] of [['redis', 'redisSessionStore'], ['postgres', 'postgresJobQueue'], ['supabase', 'supabaseSessionStore'], ['memory', 'memorySyncTransport']]) {
    const mod = await load(entry);
    let thrown;
    try { mod[factory]({ client: 42, hub: 42 }); } catch (err) { thrown = err; }
    if (!(thrown instanceof core.BotwireConfigError && thrown instanceof core.BotwireError)) {
      bad.push(`${format}: botwire/${entry} ${factory} threw ${String(thrown)}, not botwire's BotwireConfigError`);
    }
  }
}
if (bad.length) { console.error(`core classes are duplicated across entries:\n${bad.join('\n')}`); process.exit(1); }
console.log('every entry shares the core classes (ESM and CJS)');
