import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { applyLegacyMigrations } from './support/legacy-migrations.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';

/** Every migration file, in order: the CLI applies and prints all of them. */
const MIGRATIONS = readdirSync(new URL('../adapters/postgres/sql/', import.meta.url)).filter((f) => /^\d{3}_\w+\.sql$/.test(f)).sort().map((f) => f.slice(0, -4));

const withPostgres = await needs('postgres');

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'adapters/postgres/cli.ts', ...args], {
      env: { ...process.env, DATABASE_URL: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// Each case spawns `node --import tsx`, which takes a second or more on a busy machine.
describe('botwire CLI', { timeout: 30_000 }, () => {
  it('prints the migration SQL for a schema without connecting', async () => {
    const r = await cli(['migrate', '--print', '--schema', 'bot_prod']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^-- botwire: schema "bot_prod"/);
    expect(r.stdout).toContain('CREATE TABLE IF NOT EXISTS "bot_prod".sessions');
    expect(r.stdout.match(/^-- \d{3}_\w+$/gm)).toEqual(MIGRATIONS.map((m) => `-- ${m}`));
    expect(r.stdout).toContain('ENABLE ROW LEVEL SECURITY');
    expect(r.stdout).not.toContain('{{schema}}');
    expect(r.stdout.trimEnd().endsWith('COMMIT;')).toBe(true);
  });

  it('exits 2 with usage for a missing command, a bad schema or no database URL', async () => {
    const [none, bad, nourl] = await Promise.all([
      cli([]),
      cli(['migrate', '--print', '--schema', 'Bad-Name']),
      cli(['migrate']),
    ]);
    expect(none).toMatchObject({ code: 2 });
    expect(none.stderr).toContain('Usage:');
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toMatch(/schema must match/);
    expect(nourl).toMatchObject({ code: 2 });
    expect(nourl.stderr).toMatch(/--database-url <url> or set DATABASE_URL/);
  });

  it('exits 2 naming the rule for a reserved schema, before connecting', async () => {
    // The URL points nowhere: reaching it would exit 1, so exit 2 proves nothing was attempted.
    const [pub, catalog] = await Promise.all([
      cli(['migrate', '--schema', 'public', '--database-url', 'postgres://postgres@127.0.0.1:1/test']),
      cli(['migrate', '--print', '--schema', 'pg_catalog']),
    ]);
    for (const r of [pub, catalog]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/is reserved: botwire refuses public, information_schema, pg_catalog, pg_toast and every name starting with pg_/);
      expect(r.stderr).not.toMatch(/migrate failed/);
    }
  });

  it('exits 1 with the reason when the database cannot be reached', async () => {
    const r = await cli(['migrate', '--database-url', 'postgres://postgres@127.0.0.1:1/test']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/migrate failed: .*(ECONNREFUSED|unavailable)/);
  });

  it.runIf(withPostgres)('migrates a database from DATABASE_URL, then reports it up to date', async () => {
    const schema = uniqueName('bw_cli');
    try {
      const first = await cli(['migrate', '--schema', schema], { DATABASE_URL });
      expect(first.stderr).toBe('');
      expect(first).toMatchObject({ code: 0 });
      expect(first.stdout).toMatch(new RegExp(`applied ${MIGRATIONS.join(', ')} to schema "${schema}".*now at version ${MIGRATIONS.length}`));
      const again = await cli(['migrate', '--database-url', DATABASE_URL, '--schema', schema]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/is up to date/);
    } finally {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });

  it.runIf(withPostgres)('exits 1 saying what to do for a schema migrated before the 0.x baseline', async () => {
    const schema = uniqueName('bw_cli_pre');
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await applyLegacyMigrations(client, schema);
      const r = await cli(['migrate', '--schema', schema], { DATABASE_URL });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/migrate failed: .*before its 0\.x baseline/);
      expect(r.stderr).toContain(`DROP SCHEMA "${schema}" CASCADE`);
      expect(r.stderr).toContain('npx botwire migrate --schema <new>');
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});
