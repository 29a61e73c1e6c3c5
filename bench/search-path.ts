/**
 * `npm run bench -- search-path [--ms=N] [--rounds=N]`
 *
 * What pinning `search_path` on botwire's SQL functions would cost. Supabase's security advisor
 * warns "Function Search Path Mutable" for every function without a `SET search_path` clause;
 * botwire's functions carry none because they are SECURITY INVOKER and name everything
 * schema-qualified (a caller's search_path can only affect that caller). This bench installs the
 * migrations into two schemas, pins `search_path = ''` on every function of the second
 * (`ALTER FUNCTION … SET search_path = ''`, exactly what the advisor asks for), and calls the hot
 * functions of a session update through one connection with named prepared statements, as the
 * adapter does, alternating the two schemas in short rounds. Printed: calls/s (best round), µs per
 * call and pinned ÷ plain.
 */
import pg from 'pg';
import { migrate } from 'botwire/postgres';

const arg = (name: string, fallback: number): number => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
};
const ROUND_MS = arg('ms', 1_500);
const ROUNDS = arg('rounds', 5);
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemas = { plain: 'bench_sp_plain', pinned: 'bench_sp_pinned' } as const;

const client = new pg.Client({ connectionString: url });
await client.connect();
for (const schema of Object.values(schemas)) {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await migrate(client, { schema });
}
const { rows: fns } = await client.query<{ sig: string }>(
  `SELECT p.oid::regprocedure::text AS sig FROM pg_proc p WHERE p.pronamespace = $1::regnamespace`, [schemas.pinned]);
for (const { sig } of fns) await client.query(`ALTER FUNCTION ${sig} SET search_path = ''`);
for (const schema of Object.values(schemas)) {
  for (let i = 0; i < 1_000; i++) await client.query(`SELECT * FROM ${schema}.session_set($1, $2)`, [`k${i}`, '{"count":1}']);
}

/** The calls of a session update and a rate-limit hit, each as the adapter sends it. */
const cases: { name: string; sql: (schema: string) => string; args: (i: number) => unknown[] }[] = [
  { name: 'session_get (sql, table function)', sql: (s) => `SELECT * FROM ${s}.session_get($1::text[])`, args: (i) => [[`k${i % 1_000}`]] },
  { name: 'session_set (plpgsql)', sql: (s) => `SELECT * FROM ${s}.session_set($1, $2)`, args: (i) => [`k${i % 1_000}`, '{"count":2}'] },
  { name: 'rate_limit_hit (plpgsql)', sql: (s) => `SELECT * FROM ${s}.rate_limit_hit($1, 100, 60000, true)`, args: (i) => [`u${i % 1_000}`] },
];

async function round(name: string, text: string, args: (i: number) => unknown[]): Promise<number> {
  let i = 0;
  const end = performance.now() + ROUND_MS;
  const t0 = performance.now();
  while (performance.now() < end) await client.query({ name, text, values: args(i++) });
  return (i / (performance.now() - t0)) * 1000;
}

console.log(`search_path pinning, ${ROUNDS} alternating rounds of ${ROUND_MS} ms, one connection, named prepared statements`);
console.log('| function | plain calls/s | pinned calls/s | plain µs/call | pinned µs/call | pinned ÷ plain |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const c of cases) {
  const best = { plain: 0, pinned: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of ['plain', 'pinned'] as const) {
      best[kind] = Math.max(best[kind], await round(`${c.name}-${kind}`, c.sql(schemas[kind]), c.args));
    }
  }
  const us = (v: number): string => (1e6 / v).toFixed(0);
  console.log(`| ${c.name} | ${best.plain.toFixed(0)} | ${best.pinned.toFixed(0)} | ${us(best.plain)} | ${us(best.pinned)} | ${(best.pinned / best.plain).toFixed(2)}× |`);
}
for (const schema of Object.values(schemas)) await client.query(`DROP SCHEMA ${schema} CASCADE`);
await client.end();
