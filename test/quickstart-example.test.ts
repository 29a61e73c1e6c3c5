import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

// The README's first command (`npm start`) runs this example; it must work with no servers at all.
it('quickstart: a session written before a restart is found after it, on embedded PGlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botwire-qs-'));
  try {
    const env = { ...process.env, BOTWIRE_QUICKSTART_DIR: dir, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1' };
    const script = ['--import', 'tsx', 'examples/quickstart/index.ts'];
    const first = await run(process.execPath, script, { env, timeout: 120_000 });
    expect(first.stdout).toContain('instance 2: found {"visits":1,"lastStep":"name"} at version 1');
    const second = await run(process.execPath, script, { env, timeout: 120_000 });
    expect(second.stdout).toContain('instance 2: found {"visits":2,"lastStep":"name"} at version 2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
