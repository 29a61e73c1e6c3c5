import { describe, expect, it } from 'vitest';
import { memoryJobBackend } from '../adapters/memory/job-backend.js';
import { memorySemaphoreBackend } from '../adapters/memory/semaphore.js';
import { JobQueue } from '../src/jobs/job-queue.js';
import { semaphore } from '../src/jobs/semaphore.js';
import {
  fairnessScenario, limitScenario, memoryScenarioLog, rateScenario, runFleetScenario, semaphoreScenario,
} from '../src/testing/fleet-scenarios.js';
import { jobFleetContract } from '../src/testing/job-fleet-contract.js';
import { semaphoreContract } from '../src/testing/semaphore-contract.js';

jobFleetContract('memory', () => ({ backend: memoryJobBackend() }));
semaphoreContract('memory', () => ({ backend: memorySemaphoreBackend() }));

describe('fleet acceptance scenarios, in one process on memory', () => {
  const on = () => {
    const backend = memoryJobBackend();
    return (options: ConstructorParameters<typeof JobQueue>[1]) => new JobQueue(backend, { onError: () => {}, ...options });
  };

  it('runs 200 jobs of a name limited to 3 on 4 workers × 5 with exactly 3 at once at the peak', async () => {
    const report = await runFleetScenario(limitScenario(), on());
    expect(report).toMatchObject({ peak: 3, finished: 200 });
  }, 30_000);

  it('starts no more than 10 jobs in any second under rate 10/s (25 jobs, 3 workers)', async () => {
    const report = await runFleetScenario(rateScenario({ jobs: 25 }), on());
    expect(report).toMatchObject({ peak: 10, finished: 25 });
  }, 30_000);

  it('finishes every job of groups B…K before group A is 25 % done', async () => {
    const report = await runFleetScenario(fairnessScenario(), on());
    expect(report.aDoneWhenOthersFinished).toBeLessThan(250);
    expect(report.peakA).toBe(1);
    const wider = await runFleetScenario(fairnessScenario({ groupConcurrency: 4 }), on());
    expect(wider.aDoneWhenOthersFinished).toBeLessThan(250);
  }, 30_000);

  it('names the violation when a log breaks a scenario rule', () => {
    const ev = (kind: 'start' | 'end', id: string, at: number, extra: object = {}) => ({ kind, id, worker: 'w', at, ...extra });
    const four = ['a', 'b', 'c', 'd'].flatMap((id, i) => [ev('start', id, i), ev('end', id, 100)]);
    expect(() => limitScenario({ jobs: 4 }).check(four)).toThrow('4 runs of the limited name at once (limit 3)');
    const killed = [ev('start', 'a', 0), ev('start', 'b', 1), ev('start', 'c', 2), ev('end', 'b', 50), ev('end', 'c', 50), ev('start', 'd', 60), ev('end', 'd', 90)];
    // a never ended: its worker was killed at 70, so a and d overlap with nothing else beyond 3.
    expect(limitScenario({ jobs: 3 }).check(killed, { killed: { w: 70 } })).toMatchObject({ peak: 3, finished: 3 });
    const burst = Array.from({ length: 11 }, (_, i) => [ev('start', `j${i}`, i * 90, { claimedAt: i * 90 }), ev('end', `j${i}`, i * 90 + 1)]).flat();
    expect(() => rateScenario({ jobs: 11 }).check(burst)).toThrow('11 starts within one second');
    const unfair = [
      ...Array.from({ length: 250 }, (_, i) => ev('end', `a${i}`, i, { group: 'A' })),
      ...Array.from({ length: 100 }, (_, i) => ev('end', `o${i}`, 300, { group: 'B' })),
    ];
    expect(() => fairnessScenario().check(unfair)).toThrow('A had 250 of 1,000 jobs done');
  });

  it('keeps 4 holders × 50 acquisitions to 3 holders at once', async () => {
    const backend = memorySemaphoreBackend();
    const log = memoryScenarioLog();
    await Promise.all(Array.from({ length: semaphoreScenario.holders }, (_, i) =>
      semaphoreScenario.run(semaphore(backend, 'ai', { limit: semaphoreScenario.limit }), log, `h${i}`)));
    expect(semaphoreScenario.check(log.events)).toMatchObject({ peak: 3, finished: 200 });
  }, 30_000);
});
