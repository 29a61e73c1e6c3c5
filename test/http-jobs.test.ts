import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { memoryJobQueue } from '../adapters/memory/job-backend.js';
import { jobsHttpHandler } from '../integrations/http/index.js';
import { toNodeHandler } from '../integrations/http/node.js';
import { BotwireConfigError } from '../src/errors.js';
import type { JobQueue } from '../src/jobs/job-queue.js';

const SECRET = 'test-cron-secret-0123456789abcdef';
let server: http.Server;
let base: string;
let queue: JobQueue;
let sourceUp = false;
let clock = Date.now();

beforeAll(async () => {
  queue = memoryJobQueue({
    now: () => clock,
    handlers: {
      report: async ({ job, partial }) => {
        const result = { ...(job.result as object | undefined), main: `report for ${(job.payload as { chat: number }).chat}` };
        if (!sourceUp) { await partial(result, { missing: ['prices'], retryInMs: 300_000 }); return result; }
        return { ...result, prices: [1, 2] };
      },
      boom: () => { throw new Error('source exploded'); },
    },
  });
  const handle = jobsHttpHandler({ queue, public: true, cronSecret: SECRET, basePath: '/api', budgetMs: 40_000, maxBodyBytes: 1_000 });
  server = http.createServer(toNodeHandler(handle));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(async () => { await new Promise((r) => server.close(r)); });

const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
const tick = (secret = SECRET, method = 'GET') => fetch(`${base}/cron/tick`, { method, headers: { authorization: `Bearer ${secret}` } });

describe('jobs over HTTP (node:http)', () => {
  it('starts a job, reports status with ETag and Retry-After, serves partial results, retries, completes', async () => {
    const started = await post('/jobs/report', { chat: 42 });
    expect(started.status).toBe(201);
    const { id, state, statusUrl } = await started.json();
    expect(state).toBe('waiting');
    expect(started.headers.get('location')).toBe(`/api/jobs/${id}`);
    expect(statusUrl).toBe(`/api/jobs/${id}`);

    const s1 = await fetch(`${base}/jobs/${id}`);
    expect(s1.status).toBe(200);
    expect(await s1.json()).toMatchObject({ id, name: 'report', state: 'waiting', attempts: 0, hasResult: false });
    expect(s1.headers.get('retry-after')).toBe('2');
    const etag = s1.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const s2 = await fetch(`${base}/jobs/${id}`, { headers: { 'if-none-match': etag } });
    expect(s2.status).toBe(304);
    expect((await fetch(`${base}/jobs/${id}`, { method: 'HEAD' })).status).toBe(200);

    const pending = await fetch(`${base}/jobs/${id}/result`);
    expect(pending.status).toBe(202);
    expect(pending.headers.get('retry-after')).toBe('2');

    const t = await tick();
    expect(t.status).toBe(200);
    expect(await t.json()).toMatchObject({ claimed: 1, partial: 1, completed: 0, failed: 0, left: 0, skipped: false });

    const s3 = await fetch(`${base}/jobs/${id}`, { headers: { 'if-none-match': etag } });
    expect(s3.status).toBe(200);
    expect(s3.headers.get('retry-after')).toBe('300');
    const missing = await (await fetch(`${base}/jobs/${id}/missing`)).json();
    expect(missing).toEqual({ id, state: 'partial', missing: ['prices'], nextRunAt: new Date(clock + 300_000).toISOString() });
    const partial = await fetch(`${base}/jobs/${id}/result`);
    expect(partial.status).toBe(200);
    expect(await partial.json()).toEqual({ id, state: 'partial', complete: false, result: { main: 'report for 42' }, missing: ['prices'] });

    sourceUp = true;
    const retried = await post(`/jobs/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ state: 'waiting', missing: ['prices'] });
    expect(await (await tick(SECRET, 'POST')).json()).toMatchObject({ claimed: 1, completed: 1 });
    const done = await fetch(`${base}/jobs/${id}/result`);
    expect(await done.json()).toEqual({ id, state: 'completed', complete: true, result: { main: 'report for 42', prices: [1, 2] }, missing: [] });
    expect((await fetch(`${base}/jobs/${id}`)).headers.get('retry-after')).toBeNull();

    const again = await post(`/jobs/${id}/retry`);
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe('JOB_STATE');
  });

  it('derives the job id http:<name>:<key> from Idempotency-Key and replays it with 200', async () => {
    const first = await post('/jobs/report', { chat: 1 }, { 'idempotency-key': 'order-77' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const a = await first.json();
    const second = await post('/jobs/report', { chat: 2 }, { 'idempotency-key': 'order-77' });
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const b = await second.json();
    expect(a).toEqual({ id: 'http:report:order-77', state: 'waiting', statusUrl: '/api/jobs/http%3Areport%3Aorder-77' });
    expect(b).toEqual(a);
    expect(second.headers.get('location')).toBe(a.statusUrl);
    // The stored job keeps the first payload: a repeated key never changes a job.
    expect((await queue.get('http:report:order-77'))?.payload).toEqual({ chat: 1 });
    expect(await queue.get('order-77')).toBeUndefined();
    expect((await fetch(`${base}/jobs/http%3Areport%3Aorder-77`)).status).toBe(200);
  });

  it('accepts every JSON media type on POST and nothing else', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/merge-patch+json', 'application/vnd.api+json ; q=1']) {
      expect([type, (await post('/jobs/report', { chat: 3 }, { 'content-type': type })).status]).toEqual([type, 201]);
    }
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'application/json-seq', 'text/json', '']) {
      expect([type, (await post('/jobs/report', { chat: 3 }, { 'content-type': type })).status]).toEqual([type, 415]);
    }
    const { id } = await (await post('/jobs/boom', null)).json();
    const retry = await fetch(`${base}/jobs/${id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(415);
    expect((await retry.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    await queue.cancel(id);
  });

  it('protects the tick with the bearer secret', async () => {
    expect((await fetch(`${base}/cron/tick`)).status).toBe(401);
    const wrong = await tick('test-cron-secret-0123456789abcdeX');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('Bearer') } });
    expect((await tick('short')).status).toBe(401);
  });

  it('answers bad input with JSON errors and fitting statuses', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [post('/jobs/nope', {}), 404, 'JOB_UNKNOWN'],
      [post('/jobs/report', '{not json'), 400, 'BAD_JSON'],
      [post('/jobs/report', { s: 'x'.repeat(2_000) }), 413, 'BODY_TOO_LARGE'],
      [post('/jobs/report', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [post('/jobs/report', {}, { 'idempotency-key': 'k'.repeat(190) }), 400, 'BAD_IDEMPOTENCY_KEY'],
      [fetch(`${base}/jobs/missing-id`), 404, 'JOB_NOT_FOUND'],
      [fetch(`${base}/jobs/missing-id/result`), 404, 'JOB_NOT_FOUND'],
      [fetch(`${base}/jobs/x/retry`), 405, 'METHOD_NOT_ALLOWED'],
      [fetch(`${base}/jobs/x`, { method: 'PUT' }), 405, 'METHOD_NOT_ALLOWED'],
      [post('/jobs/x/result', {}), 405, 'METHOD_NOT_ALLOWED'],
      [fetch(`${base}/jobs/x/whatever`), 404, 'NOT_FOUND'],
      [fetch(`${base}/elsewhere`), 404, 'NOT_FOUND'],
      [fetch(`${base}/cron/tick`, { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [res, status, code] of cases) {
      const r = await res;
      expect([r.status, (await r.json()).error.code]).toEqual([status, code]);
    }
  });

  it('reports a failed job without a result as 409 naming the error class only', async () => {
    const { id } = await (await post('/jobs/boom', null)).json();
    for (let i = 0; i < 3; i++) { await tick(); clock += 3_600_000; }
    const r = await fetch(`${base}/jobs/${id}/result`);
    expect(r.status).toBe(409);
    const { error } = await r.json();
    expect(error).toMatchObject({ code: 'JOB_NO_RESULT', message: expect.stringContaining('ended failed without a result (Error)') });
    expect(error.message).not.toContain('source exploded');
    expect((await (await fetch(`${base}/jobs/${id}`)).json()).error).toEqual({ name: 'Error' });
  });
});

describe('options and routes outside authorize', () => {
  const q = memoryJobQueue({ handlers: { report: () => 1 } });

  it('refuses invalid options with BotwireConfigError', () => {
    for (const bad of [
      { cronSecret: 'short' }, { cronSecret: 12345678901234567890 as unknown as string }, { maxBodyBytes: 0 },
      { pollAfterSeconds: -1 }, { basePath: 'api' },
    ]) {
      expect(() => jobsHttpHandler({ queue: q, public: true, ...bad })).toThrow(BotwireConfigError);
    }
  });

  it('keeps the tick at 404 without cronSecret and never asks authorize about it', async () => {
    const authorize = vi.fn(() => true);
    const handle = jobsHttpHandler({ queue: q, authorize });
    const res = await handle(new Request('http://bot.test/cron/tick', { headers: { authorization: 'Bearer anything-at-all-0123456789' } }));
    expect([res.status, (await res.json()).error.code]).toEqual([404, 'NOT_FOUND']);
    const withSecret = jobsHttpHandler({ queue: q, authorize, cronSecret: SECRET });
    expect((await withSecret(new Request('http://bot.test/cron/tick', { headers: { authorization: `Bearer ${SECRET}` } }))).status).toBe(200);
    expect((await withSecret(new Request('http://bot.test/cron/tick'))).status).toBe(401);
    expect(authorize).not.toHaveBeenCalled();
  });

  it('allows only when authorize returns exactly true; a missing job is 404 before authorize is asked', async () => {
    const answers: unknown[] = [1, 'yes', {}, undefined, false];
    const authorize = vi.fn(() => answers.shift() as boolean);
    const handle = jobsHttpHandler({ queue: q, authorize });
    const { id } = await q.add('report', {});
    for (let i = 0; i < 5; i++) expect((await handle(new Request(`http://bot.test/jobs/${id}`))).status).toBe(403);
    expect((await handle(new Request('http://bot.test/jobs/nope'))).status).toBe(404);
    expect(authorize).toHaveBeenCalledTimes(5);
  });
});

describe('node adapter', () => {
  it('keeps a request target starting with // as a path on the Host it came to', async () => {
    const { toWebRequest } = await import('../integrations/http/node.js');
    const req = Object.assign((async function* () { /* no body */ })(), { method: 'GET', url: '//evil.example/jobs/x', headers: { host: 'bot.example' } });
    const url = new URL(toWebRequest(req).url);
    expect([url.host, url.pathname]).toEqual(['bot.example', '//evil.example/jobs/x']);
  });


  it('passes on a body that Express already parsed, and uses originalUrl under a mount path', async () => {
    const { toWebRequest } = await import('../integrations/http/node.js');
    const req = Object.assign((async function* () { /* stream already consumed */ })(), {
      method: 'POST', url: '/jobs/report', originalUrl: '/api/jobs/report', readableEnded: true,
      headers: { host: 'bot.example', 'content-type': 'application/json', 'content-length': '99' }, body: { chat: 5 },
    });
    const request = toWebRequest(req);
    expect(request.url).toBe('http://bot.example/api/jobs/report');
    expect(await request.json()).toEqual({ chat: 5 });
  });
});
