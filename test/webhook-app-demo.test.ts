import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

// `npm start` runs this demo: it must work with no servers and no network, whatever the shell's
// DATABASE_URL / REDIS_URL say, print the transcript and exit 0.
it('npm start: the offline demo plays the conversation on PGlite and exits 0', async () => {
  const env = { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1', SUPABASE_URL: '' };
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/webhook-app/demo.ts'], { env, timeout: 200_000 });
  expect(stdout).toContain('app process 1 (pid');
  expect(stdout).toContain('cold start next');
  expect(stdout).toContain('✅ Saved tournament #1: TestTournament123, buy-in 500.');
  expect(stdout).toContain('📊 Your report');
  expect(stdout).toContain('[📋 Quests]');
  expect(stdout).toContain('⏳ Slow down');
  expect(stdout).toMatch(/\d+ updates through the webhook/);
}, 240_000);
