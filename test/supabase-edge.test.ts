/**
 * botwire core + botwire/supabase + botwire/http (with supabase-js) bundled for the browser platform
 * (as edge bundlers do: no Node built-ins resolve) and run inside `@edge-runtime/vm`, Vercel's
 * Web-standard runtime. Its own `fetch` reaches the PostgREST double over the real Postgres. Inside
 * it: a session is created through a lease, a job is enqueued through `jobsHttpHandler` (with
 * `authorize`), run by the cron tick and read back, and an event is published; outside it, Node
 * checks the rows and a `postgresSyncBus` listener receives the event.
 */
import { EdgeVM } from '@edge-runtime/vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSyncBus } from '../adapters/postgres/index.js';
import type { SyncEnvelope } from '../src/sync/types.js';
import { needs } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';

const run = await needs('postgres');
const root = new URL('..', import.meta.url).pathname;

/** The modules an edge function of a bot imports, exposed on globalThis for the scenario below. */
const ENTRY = `
  import { createClient } from '@supabase/supabase-js';
  import { SessionStore } from 'botwire';
  import { supabaseJobQueue, supabaseSessionStore, supabaseSyncBus } from 'botwire/supabase';
  import { jobsHttpHandler } from 'botwire/http';
  globalThis.__edge = { createClient, SessionStore, supabaseJobQueue, supabaseSessionStore, supabaseSyncBus, jobsHttpHandler };
`;

/** Runs inside the VM; `config` is inlined as JSON. Returns a JSON string (objects do not cross realms cleanly). */
const scenario = (config: object): string => `(async () => {
  const config = ${JSON.stringify(config)};
  const { createClient, supabaseJobQueue, supabaseSessionStore, supabaseSyncBus, jobsHttpHandler } = globalThis.__edge;
  const client = createClient(config.url, config.key, {
    db: { schema: config.schema }, auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  const out = { runtime: typeof EdgeRuntime, hasProcess: typeof process !== 'undefined' };

  const store = supabaseSessionStore({ client, schema: config.schema, prefix: 'edge:' });
  const lease = await store.acquire('chat-1');
  out.version = await lease.commit({ step: 'greeted', at: 'edge' }, { ttlMs: 86400000 });
  out.session = (await store.get('chat-1')).data;

  const queue = supabaseJobQueue({ client, schema: config.schema, handlers: { greet: async ({ job }) => ({ hello: job.payload.name }) } });
  const handle = jobsHttpHandler({
    queue, cronSecret: config.cronSecret,
    authorize: (request) => request.headers.get('authorization') === 'Bearer user-token',
  });
  const post = (auth) => handle(new Request('https://bot.example/jobs/greet', {
    method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify({ name: 'edge' }),
  }));
  out.refused = (await post(undefined)).status;
  const created = await post('Bearer user-token');
  out.created = created.status;
  const { id } = await created.json();
  out.jobId = id;
  const tick = await handle(new Request('https://bot.example/cron/tick', { headers: { authorization: 'Bearer ' + config.cronSecret } }));
  out.tick = await tick.json();
  const result = await handle(new Request('https://bot.example/jobs/' + encodeURIComponent(id) + '/result', { headers: { authorization: 'Bearer user-token' } }));
  out.result = { status: result.status, body: await result.json() };

  const bus = supabaseSyncBus({ client, schema: config.schema });
  await bus.ready(1000);
  await bus.publish('edge.hello', { from: 'edge' });
  out.bus = bus.stats();
  await bus.close();
  return JSON.stringify(out);
})()`;

describe.runIf(run)('botwire/supabase + botwire/http inside @edge-runtime/vm', () => {
  let s: SupabaseSetup;
  let bundle: string;
  beforeAll(async () => {
    s = await withSupabase('bw_supa_edge', { max: 6 });
    const result = await build({
      stdin: { contents: ENTRY, resolveDir: root, loader: 'ts' },
      bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, metafile: true, logLevel: 'silent', absWorkingDir: root,
    });
    bundle = result.outputFiles[0]!.text;
    // Proof that the bundle is what an edge bundler would build: Node built-ins do not resolve on
    // the browser platform, so none can be in it.
    expect(Object.keys(result.metafile.inputs).filter((f) => f.startsWith('node:') || /^(fs|net|tls|crypto|http|stream)$/.test(f))).toEqual([]);
  }, 60_000);
  afterAll(() => s?.drop());

  it('creates a session, enqueues and runs a job over HTTP with authorize, and publishes an event that a Postgres listener receives', async () => {
    const listener = postgresSyncBus({ client: s.pool, schema: s.schema });
    const heard: SyncEnvelope[] = [];
    listener.subscribe('edge.*', (e) => { heard.push(e); });
    await listener.ready();
    try {
      const vm = new EdgeVM();
      vm.evaluate(bundle);
      const text = await vm.evaluate<Promise<string>>(scenario({
        url: s.double.url, key: s.double.serviceKey, schema: s.schema, cronSecret: 'edge-cron-secret-0123456789',
      }));
      const out = JSON.parse(text);
      expect(out).toMatchObject({
        runtime: 'string', hasProcess: false, version: 1, session: { step: 'greeted', at: 'edge' },
        refused: 403, created: 201, tick: { claimed: 1, completed: 1, failed: 0 },
        result: { status: 200, body: { state: 'completed', result: { hello: 'edge' } } }, bus: { published: 1, dropped: 0 },
      });
      // What the edge function did is in the database, and the event reached the long-running listener.
      const { rows } = await s.pool.query(`SELECT data FROM "${s.schema}".sessions WHERE key = 'edge:chat-1'`);
      expect(rows).toEqual([{ data: { step: 'greeted', at: 'edge' } }]);
      const job = await s.pool.query(`SELECT state, result FROM "${s.schema}".jobs WHERE id = $1`, [out.jobId]);
      expect(job.rows).toEqual([{ state: 'completed', result: '{"hello":"edge"}' }]);
      await expect.poll(() => heard.map((e) => [e.topic, e.data])).toEqual([['edge.hello', { from: 'edge' }]]);
      // Every call went through the Data API's rpc routes.
      expect([...s.double.requests.byRoute.keys()].every((r) => r.startsWith('POST /rpc/'))).toBe(true);
    } finally {
      await listener.close();
    }
  }, 30_000);
});
