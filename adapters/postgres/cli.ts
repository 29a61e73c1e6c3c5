#!/usr/bin/env node
// The `botwire` bin. Only `migrate` for now; loads `pg` lazily so --print works without it.
import { parseArgs } from 'node:util';
import { BotwireError, importPeer } from 'botwire/adapter-kit';
import type { PgQueryable } from './client.js';
import { DEFAULT_SCHEMA, quoteSchema } from './identifier.js';
import { migrate, migrationSql } from './migrate.js';

const USAGE = `Usage:
  botwire migrate [--database-url <url>] [--schema <name>]
      Create or upgrade botwire's tables and functions. The URL defaults to $DATABASE_URL.
  botwire migrate --print [--schema <name>]
      Print the SQL instead (e.g. to paste into the Supabase SQL editor); does not connect.

Options:
  --database-url <url>  postgres://user:password@host:5432/db
  --schema <name>       schema botwire owns alone (default "${DEFAULT_SCHEMA}"; public, information_schema
                        and pg_* are refused)
  --print               print the SQL and exit
  -h, --help            show this help

Exit codes: 0 done, 1 migration failed, 2 bad usage or setup (no database URL, pg not installed).`;

interface PgClientLike extends PgQueryable { connect(): Promise<unknown>; end(): Promise<void> }
type PgModule = { Client: new (config: object) => PgClientLike };

async function loadPg(): Promise<PgModule> {
  const mod = (await importPeer('pg', 'botwire migrate (connecting; --print needs nothing)', () => import('pg'))) as unknown as PgModule & { default?: PgModule };
  return mod.default ?? mod;
}

function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the database';
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        print: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`botwire: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) { console.log(USAGE); return 0; }
  if (positionals.length !== 1 || positionals[0] !== 'migrate') {
    console.error(`botwire: ${positionals.length ? `unknown command "${positionals.join(' ')}"` : 'missing command'}\n\n${USAGE}`);
    return 2;
  }
  const schema = values.schema ?? DEFAULT_SCHEMA;
  try {
    quoteSchema(schema);
    if (values.print) {
      process.stdout.write(migrationSql({ schema }));
      return 0;
    }
    const url = values['database-url'] ?? process.env.DATABASE_URL;
    if (!url) {
      console.error(`botwire: no database: pass --database-url <url> or set DATABASE_URL.\n\n${USAGE}`);
      return 2;
    }
    const pg = await loadPg();
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
      const result = await migrate(client, { schema });
      const names = result.applied.map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`);
      console.log(names.length
        ? `botwire: applied ${names.join(', ')} to schema "${schema}" on ${where(url)} (now at version ${result.version}).`
        : `botwire: schema "${schema}" on ${where(url)} is up to date (version ${result.version}).`);
      return 0;
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(err instanceof BotwireError && err.code === 'CONFIG' ? `botwire: ${message}` : `botwire: migrate failed: ${message}`);
    return err instanceof BotwireError && err.code === 'CONFIG' ? 2 : 1;
  }
}

// A reader that stops early (`botwire migrate --print | head`) is not an error of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
