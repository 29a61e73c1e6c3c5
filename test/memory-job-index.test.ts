/**
 * The memory job backend claims from indexes (heaps by state); this drives it with random
 * operations next to a model that scans every job for every operation, as the backend did before
 * it had indexes, and requires the same answers and the same stored jobs after every step (and the
 * same counts per state every 50 steps).
 */
import { describe, expect, it } from 'vitest';
import { memoryJobBackend } from '../adapters/memory/job-backend.js';
import type { JobState, StoredJob } from '../src/jobs/backend.js';

const RUNNABLE: readonly JobState[] = ['waiting', 'delayed', 'partial'];
const FINISHED: readonly JobState[] = ['completed', 'failed', 'cancelled'];

/** The scanning model: every operation looks at every job. */
class ScanModel {
  readonly jobs: Array<StoredJob & { seq: number }> = [];
  #seq = 0;

  #find(id: string) { return this.jobs.find((j) => j.id === id); }
  #active(id: string, token: string) { const j = this.#find(id); return j?.state === 'active' && j.leaseToken === token ? j : undefined; }
  #end(j: StoredJob, now: number, change: Partial<StoredJob>): void { Object.assign(j, { leaseToken: undefined, leaseUntil: undefined, updatedAt: now }, change); }
  // Due delayed jobs become waiting whenever a claim, count or promote looks at the queue.
  #promote(now: number): void {
    for (const j of this.jobs) if (j.state === 'delayed' && j.runAt <= now) Object.assign(j, { state: 'waiting', updatedAt: now });
  }

  add(id: string, name: string, priority: number, runAt: number, timeoutMs: number, now: number): boolean {
    if (this.#find(id)) return false;
    this.jobs.push({
      id, name, payload: '1', priority, runAt, maxAttempts: 3, backoff: '{}', timeoutMs, retryUntil: undefined,
      state: runAt <= now ? 'waiting' : 'delayed', attempts: 0, progress: 0, createdAt: now, updatedAt: now, seq: ++this.#seq,
    });
    return true;
  }
  claim(names: string[], limit: number, maxTimeoutMs: number, token: string, leaseMs: number, now: number): string[] {
    this.#promote(now);
    const due = this.jobs
      .filter((j) => RUNNABLE.includes(j.state) && j.runAt <= now && names.includes(j.name) && j.timeoutMs <= maxTimeoutMs)
      .sort((a, b) => b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq)
      .slice(0, limit);
    for (const j of due) Object.assign(j, { state: 'active', leaseToken: token, leaseUntil: now + leaseMs, attempts: j.attempts + 1, startedAt: now, updatedAt: now });
    return due.map((j) => j.id);
  }
  heartbeat(id: string, token: string, leaseMs: number, now: number): boolean {
    const j = this.#active(id, token);
    if (j) Object.assign(j, { leaseUntil: now + leaseMs, updatedAt: now });
    return !!j;
  }
  complete(id: string, token: string, now: number): boolean {
    const j = this.#active(id, token);
    if (j) this.#end(j, now, { state: 'completed', result: '1', missing: undefined, progress: 100, finishedAt: now });
    return !!j;
  }
  fail(id: string, token: string, retryAt: number | undefined, now: number): boolean {
    const j = this.#active(id, token);
    if (!j) return false;
    if (retryAt === undefined) this.#end(j, now, { error: 'e', state: 'failed', finishedAt: now });
    else this.#end(j, now, { error: 'e', state: retryAt <= now ? 'waiting' : 'delayed', runAt: retryAt });
    return true;
  }
  partial(id: string, token: string, retryAt: number, final: boolean, now: number): boolean {
    const j = this.#active(id, token);
    if (!j) return false;
    if (final) this.#end(j, now, { result: 'r', missing: 'm', state: 'failed', error: 'e', finishedAt: now });
    else this.#end(j, now, { result: 'r', missing: 'm', state: 'partial', runAt: retryAt });
    return true;
  }
  release(id: string, token: string, now: number): boolean {
    const j = this.#active(id, token);
    if (j) this.#end(j, now, { state: 'waiting', runAt: now, attempts: Math.max(0, j.attempts - 1) });
    return !!j;
  }
  retry(id: string, now: number): boolean {
    const j = this.#find(id);
    if (!j || !['failed', 'cancelled', 'partial', 'delayed'].includes(j.state)) return false;
    Object.assign(j, { state: 'waiting', runAt: now, attempts: 0, finishedAt: undefined, updatedAt: now });
    return true;
  }
  cancel(id: string, now: number): boolean {
    const j = this.#find(id);
    if (!j || FINISHED.includes(j.state)) return false;
    this.#end(j, now, { state: 'cancelled', finishedAt: now });
    return true;
  }
  remove(id: string): boolean {
    const j = this.#find(id);
    if (!j || j.state === 'active') return false;
    this.jobs.splice(this.jobs.indexOf(j), 1);
    return true;
  }
  counts(now: number): Record<JobState, number> {
    this.#promote(now);
    const out: Record<JobState, number> = { waiting: 0, delayed: 0, active: 0, partial: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const j of this.jobs) out[j.state]++;
    return out;
  }
  reclaim(token: string, leaseMs: number, limit: number, now: number): string[] {
    const lapsed = this.jobs.filter((j) => j.state === 'active' && j.leaseUntil! < now)
      .sort((a, b) => a.leaseUntil! - b.leaseUntil! || a.seq - b.seq).slice(0, limit);
    for (const j of lapsed) Object.assign(j, { leaseToken: token, leaseUntil: now + leaseMs, updatedAt: now });
    return lapsed.map((j) => j.id);
  }
  countDue(names: string[], now: number): number {
    this.#promote(now);
    return this.jobs.filter((j) => RUNNABLE.includes(j.state) && j.runAt <= now && names.includes(j.name)).length;
  }
  removeFinished(states: JobState[], before: number, limit: number): number {
    const gone = states.flatMap((s) => this.jobs.filter((j) => j.state === s && j.finishedAt! < before)
      .sort((a, b) => a.finishedAt! - b.finishedAt! || a.seq - b.seq)).slice(0, limit);
    for (const j of gone) this.jobs.splice(this.jobs.indexOf(j), 1);
    return gone.length;
  }
}

/** Small deterministic PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('memory job backend indexes', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`answers like a full scan over 3,000 random operations (seed ${seed})`, async () => {
      const random = rng(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      const int = (n: number): number => Math.floor(random() * n);
      const backend = memoryJobBackend();
      const model = new ScanModel();
      const names = ['a', 'b', 'c'];
      let now = 1_000;
      let ids = 0;
      const known = (): string => (model.jobs.length ? pick(model.jobs).id : 'none');
      const active = (): StoredJob | undefined => pick([...model.jobs.filter((j) => j.state === 'active'), undefined]);
      for (let step = 0; step < 3_000; step++) {
        const op = int(14);
        const at = `step ${step} op ${op}`;
        if (op <= 2) {
          const id = random() < 0.05 ? known() : `j${++ids}`;
          const args = [id, pick(names), int(5) - 2, now + (random() < 0.3 ? int(500) : -int(50)), pick([100, 1_000, 10_000])] as const;
          const created = (await backend.add({ id, name: args[1], payload: '1', priority: args[2], runAt: args[3], maxAttempts: 3, backoff: '{}', timeoutMs: args[4] }, now)).created;
          expect(created, at).toBe(model.add(...args, now));
        } else if (op <= 4) {
          const want = names.filter(() => random() < 0.6);
          if (want.length === 0) want.push('a');
          const args = [want, 1 + int(4), pick([500, 5_000, 1e9]), `t${step}`, 100 + int(300)] as const;
          const got = await backend.claim({ names: args[0], limit: args[1], maxTimeoutMs: args[2], token: args[3], leaseMs: args[4], now });
          expect(got.map((j) => j.id), at).toEqual(model.claim(...args, now));
        } else if (op === 5) {
          const j = active();
          if (j) expect(await backend.complete(j.id, j.leaseToken!, '1', now), at).toBe(model.complete(j.id, j.leaseToken!, now));
        } else if (op === 6) {
          const j = active();
          const retryAt = random() < 0.3 ? undefined : now + int(400) - 100;
          if (j) expect(await backend.fail(j.id, j.leaseToken!, 'e', retryAt, now), at).toBe(model.fail(j.id, j.leaseToken!, retryAt, now));
        } else if (op === 7) {
          const j = active();
          const final = random() < 0.3;
          const retryAt = now + int(400) - 100;
          if (j) expect(await backend.partial(j.id, j.leaseToken!, 'r', 'm', retryAt, now, final ? { error: 'e' } : undefined), at).toBe(model.partial(j.id, j.leaseToken!, retryAt, final, now));
        } else if (op === 8) {
          const j = active();
          const token = random() < 0.9 ? j?.leaseToken : 'stale';
          if (j) expect(await backend.release(j.id, token!, now), at).toBe(model.release(j.id, token!, now));
        } else if (op === 9) {
          const id = known();
          const r = random();
          if (r < 0.4) expect(await backend.retry(id, now), at).toBe(model.retry(id, now));
          else if (r < 0.8) expect(await backend.cancel(id, now), at).toBe(model.cancel(id, now));
          else expect(await backend.remove!(id, now), at).toBe(model.remove(id));
        } else if (op === 10) {
          const j = active();
          const leaseMs = 100 + int(300);
          if (j) expect(await backend.heartbeat(j.id, j.leaseToken!, leaseMs, now), at).toBe(model.heartbeat(j.id, j.leaseToken!, leaseMs, now));
        } else if (op === 11) {
          const args = [`r${step}`, 100 + int(300), 1 + int(5)] as const;
          expect((await backend.reclaim(...args, now)).map((j) => j.id), at).toEqual(model.reclaim(...args, now));
        } else if (op === 12) {
          const want = names.filter(() => random() < 0.6);
          if (random() < 0.5) expect(await backend.countDue(want, now), at).toBe(model.countDue(want, now));
          else {
            const states = FINISHED.filter(() => random() < 0.7);
            const args = [states, now - int(300), 1 + int(6)] as const;
            expect(await backend.removeFinished(...args), at).toBe(model.removeFinished([...args[0]], args[1], args[2]));
          }
        } else {
          now += int(120);
        }
        if (step % 50 === 49 || step === 2_999) {
          expect(await backend.counts!(undefined, now), at).toEqual(model.counts(now));
          for (const j of model.jobs) {
            const { seq: _seq, ...want } = j;
            expect(await backend.get(j.id), `${at} ${j.id}`).toEqual(want);
          }
        }
      }
    });
  }
});
