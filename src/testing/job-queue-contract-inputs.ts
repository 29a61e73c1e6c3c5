import { describe, expect, it } from 'vitest';
import { BotwireConfigError, BotwireError, JobConflictError, JobPayloadTooLargeError, JobSerializationError } from '../errors.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { JobHandlers } from '../jobs/types.js';
import type { Ctx } from './job-contract-support.js';

type Row = [what: string, run: (q: JobQueue) => unknown, type: new (...args: any[]) => Error, message?: RegExp, path?: string];

/**
 * The bad-input half of the job contract: every argument a caller controls is refused with a typed
 * error before it reaches the backend, and nothing is stored.
 * @internal
 */
export function inputCases(withQueue: (fn: (c: Ctx) => Promise<void>) => () => Promise<void>): void {
  const ok: JobHandlers = { ok: async () => 'ok', other: async () => 'other' };
  const rows: Row[] = [
    ['job name with a space', (q) => q.add('bad name', {}), BotwireConfigError, /job name/],
    ['job name of 101 characters', (q) => q.add('n'.repeat(101), {}), BotwireConfigError, /job name/],
    ['non-string job name', (q) => q.add(7 as unknown as string, {}), BotwireConfigError, /job name/],
    ['empty id', (q) => q.add('ok', {}, { id: '' }), BotwireConfigError, /job id/],
    ['id of 201 characters', (q) => q.add('ok', {}, { id: 'i'.repeat(201) }), BotwireConfigError, /job id/],
    ['id with a newline', (q) => q.add('ok', {}, { id: 'a\nb' }), BotwireConfigError, /control/],
    ['id with a lone surrogate', (q) => q.add('ok', {}, { id: 'a\uDC00' }), BotwireConfigError, /surrogate/],
    ['id in the schedule namespace', (q) => q.add('ok', {}, { id: '$schedule:ok:2030-01-01T00:00:00.000Z' }), BotwireConfigError, /reserved/],
    ['attempts 0', (q) => q.add('ok', {}, { attempts: 0 }), BotwireConfigError, /attempts/],
    ['attempts 1.5', (q) => q.add('ok', {}, { attempts: 1.5 }), BotwireConfigError, /attempts/],
    ['priority 1001', (q) => q.add('ok', {}, { priority: 1001 }), BotwireConfigError, /priority/],
    ['delayMs -1', (q) => q.add('ok', {}, { delayMs: -1 }), BotwireConfigError, /delayMs/],
    ['delayMs NaN', (q) => q.add('ok', {}, { delayMs: Number.NaN }), BotwireConfigError, /delayMs/],
    ['delayMs and runAt together', (q) => q.add('ok', {}, { delayMs: 1, runAt: Date.now() }), BotwireConfigError, /either/],
    ['runAt an invalid Date', (q) => q.add('ok', {}, { runAt: new Date('nope') }), BotwireConfigError, /runAt/],
    ['retryUntil 1e300', (q) => q.add('ok', {}, { retryUntil: 1e300 }), BotwireConfigError, /retryUntil/],
    ['timeoutMs 0', (q) => q.add('ok', {}, { timeoutMs: 0 }), BotwireConfigError, /timeoutMs/],
    ['backoff of an unknown type', (q) => q.add('ok', {}, { backoff: { type: 'linear' } as never }), BotwireConfigError],
    ['payload with a BigInt', (q) => q.add('ok', { n: 1n }), JobSerializationError, /BigInt/, 'payload.n'],
    ['payload with a Map (JSON: {})', (q) => q.add('ok', { items: [{}, {}, { byId: new Map() }] }), JobSerializationError, /Map/, 'payload.items[2].byId'],
    ['payload with a Set (JSON: {})', (q) => q.add('ok', { ids: new Set([1]) }), JobSerializationError, /Set/, 'payload.ids'],
    ['payload with a class instance', (q) => q.add('ok', { buf: new Uint8Array(4) }), JobSerializationError, /Uint8Array/, 'payload.buf'],
    ['payload with a function (JSON: dropped)', (q) => q.add('ok', { cb: () => 1 }), JobSerializationError, /function/, 'payload.cb'],
    ['payload with undefined in an array (JSON: null)', (q) => q.add('ok', { list: [undefined] }), JobSerializationError, /undefined/, 'payload.list[0]'],
    ['payload with NaN (JSON: null)', (q) => q.add('ok', { 'a-b': Number.NaN }), JobSerializationError, /NaN/, 'payload["a-b"]'],
    ['payload with -Infinity (JSON: null)', (q) => q.add('ok', { min: -Infinity }), JobSerializationError, /Infinity/, 'payload.min'],
    ['payload with a cycle', (q) => { const c: Record<string, unknown> = {}; c.me = c; return q.add('ok', c); }, JobSerializationError, /cycle/, 'payload.me'],
    ['payload undefined', (q) => q.add('ok', undefined), JobSerializationError, /undefined/, 'payload'],
    ['schedule payload with a Map', (q) => q.schedule('ok', '* * * * *', { m: new Map() }), JobSerializationError, /Map/, 'payload.m'],
    ['payload over maxPayloadBytes', (q) => q.add('ok', { s: 'x'.repeat(300_000) }), JobPayloadTooLargeError],
    ['get with an empty id', (q) => q.get(''), BotwireConfigError, /job id/],
    ['list limit 0', (q) => q.list({ limit: 0 }), BotwireConfigError, /limit/],
    ['list limit 1001', (q) => q.list({ limit: 1001 }), BotwireConfigError, /limit/],
    ['removeFinished batchSize 0', (q) => q.removeFinished({ batchSize: 0 }), BotwireConfigError, /batchSize/],
    ['removeFinished batchSize -1', (q) => q.removeFinished({ batchSize: -1 }), BotwireConfigError, /batchSize/],
    ['schedule with a bad cron', (q) => q.schedule('ok', 'every minute', {}), BotwireConfigError, /cron/],
    ['schedule with an unknown time zone', (q) => q.schedule('ok', '* * * * *', {}, { tz: 'Mars/Olympus' }), BotwireConfigError],
    ['schedule with a key holding a space', (q) => q.schedule('ok', '* * * * *', {}, { key: 'a b' }), BotwireConfigError, /key/],
    ['schedule payload over maxPayloadBytes', (q) => q.schedule('ok', '* * * * *', { s: 'x'.repeat(300_000) }), JobPayloadTooLargeError],
  ];

  describe('bad input', () => {
    it.each(rows)('refuses %s with a typed error', withRow);

    function withRow(_what: string, run: Row[1], type: Row[2], message?: RegExp, path?: string): Promise<void> {
      return withQueue(async ({ make }) => {
        const q = make({ handlers: ok });
        const err = await Promise.resolve().then(() => run(q)).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(type);
        expect(err).toBeInstanceOf(BotwireError);
        if (message) expect((err as Error).message).toMatch(message);
        if (path !== undefined) expect(err).toMatchObject({ path });
        expect((await q.list({ limit: 10 })).jobs).toEqual([]);
      })();
    }

    it('refuses an id that belongs to a job of another name, and leaves that job alone', withQueue(async ({ make }) => {
      const q = make({ handlers: ok });
      await q.add('ok', { mine: true }, { id: 'report:7:2026-11' });
      const err = await q.add('other', { theirs: true }, { id: 'report:7:2026-11' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobConflictError);
      expect(err).toMatchObject({ code: 'JOB_CONFLICT', existingName: 'ok' });
      expect(await q.get('report:7:2026-11')).toMatchObject({ name: 'ok', payload: { mine: true } });
    }));
  });
}
