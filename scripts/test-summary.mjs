// Prints "N passed, N failed[, N skipped]" from a vitest JSON report; exits 1 when the report is
// missing or counted no test at all (a run that ran nothing must not look green).
import { readFileSync, existsSync } from 'node:fs';

const file = process.argv[2] ?? '.tmp/vitest.json';
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  console.error(`no vitest report at ${file}`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const passed = r.numPassedTests ?? 0;
const failed = (r.numFailedTests ?? 0) + (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0).length;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (passed + failed === 0) process.exit(1);
