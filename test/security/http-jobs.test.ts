/**
 * The jobs HTTP API probed as a hostile caller would: open construction, cross-site POSTs without a
 * preflight, Idempotency-Keys aimed at schedule slots and other jobs' ids, one chat reading another
 * chat's report, handler errors quoting secrets, and a malformed Host header.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryJobQueue } from '../../adapters/memory/job-backend.js';
import { jobsHttpHandler, type JobsHttpAuthorize, type JobsHttpOptions } from '../../integrations/http/index.js';
import { toNodeHandler } from '../../integrations/http/node.js';
import { BackendUnavailableError, BotwireConfigError, JobConflictError } from '../../src/errors.js';
import { runDue } from '../../src/jobs/run-due.js';

const LEAKY = 'connect postgres://user:secret@db:5432/app failed';
const NOON = Date.UTC(2030, 0, 1, 8, 0);

function setup(options: Partial<JobsHttpOptions> = {}) {
  let clock = NOON;
  const queue = memoryJobQueue({
    now: () => clock,
    defaultAttempts: 1,
    handlers: {
      report: async ({ job }) => ({ chatId: (job.payload as { chatId: number }).chatId, total: 3 }),
      digest: async () => 'sent',
      broken: () => { throw new Error(LEAKY); },
    },
    onError: () => undefined,
  });
  const seen: Array<[string, unknown]> = [];
  // The guide's recipe: the caller's chat (here a header standing in for real auth) must be the job's chatId.
  const authorize: JobsHttpAuthorize = (request, action, subject) => {
    seen.push([action, subject]);
    const chat = Number(request.headers.get('x-chat'));
    return chat > 0 && (subject.payload as { chatId?: unknown } | null)?.chatId === chat;
  };
  const handle = jobsHttpHandler(options.public ? { queue, ...options } : { queue, authorize, ...options });
  const call = (method: string, path: string, init: { body?: unknown; type?: string | null; chat?: number; key?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (init.type !== null) headers['content-type'] = init.type ?? 'application/json';
    if (init.chat !== undefined) headers['x-chat'] = String(init.chat);
    if (init.key !== undefined) headers['idempotency-key'] = init.key;
    // Bytes, not a string: a string body would make Request add `text/plain` on its own.
    const body = init.body === undefined ? undefined : new TextEncoder().encode(typeof init.body === 'string' ? init.body : JSON.stringify(init.body));
    return handle(new Request(`http://bot.test${path}`, { method, headers, body }));
  };
  return { queue, handle, call, seen, advance: (ms: number) => { clock += ms; } };
}

afterEach(() => { vi.restoreAllMocks(); });

describe('construction', () => {
  it('refuses to build the handler without authorize or an explicit public: true, and serves with public: true', async () => {
    const queue = memoryJobQueue({ handlers: { report: () => 1 } });
    for (const options of [{}, { public: false }, { public: 'yes' as unknown as boolean }, { authorize: 'admin' as unknown as JobsHttpAuthorize }]) {
      expect(() => jobsHttpHandler({ queue, ...options })).toThrow(BotwireConfigError);
    }
    expect(() => jobsHttpHandler({ queue })).toThrow(/authorize.*public: true/s);
    expect(() => jobsHttpHandler({ queue, public: true, authorize: () => true })).toThrow(BotwireConfigError);

    const open = jobsHttpHandler({ queue, public: true });
    const res = await open(new Request('http://bot.test/jobs/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
    expect(res.status).toBe(201);
  });
});

describe('cross-site requests without a preflight', () => {
  it('refuses POSTs without a JSON Content-Type (none at all included) and enqueues nothing', async () => {
    const { queue, call } = setup({ public: true });
    const bare = new Request('http://bot.test/jobs/report', { method: 'POST', body: new TextEncoder().encode('{"chatId":7}') });
    expect(bare.headers.get('content-type')).toBeNull();
    for (const type of [null, 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=z']) {
      const res = await call('POST', '/jobs/report', { body: { chatId: 7 }, chat: 7, type });
      expect([type, res.status, (await res.json()).error.code]).toEqual([type, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
    expect((await queue.list()).jobs).toEqual([]);

    const job = await queue.add('report', { chatId: 7 });
    await queue.cancel(job.id);
    const retry = await call('POST', `/jobs/${job.id}/retry`, { chat: 7, type: null });
    expect(retry.status).toBe(415);
    expect((await queue.get(job.id))?.state).toBe('cancelled');
    expect((await call('POST', `/jobs/${job.id}/retry`, { chat: 7 })).status).toBe(200);
  });
});

describe('Idempotency-Key', () => {
  it('cannot pre-create a schedule slot: the slot runs the schedule payload, the key gets a job of its own', async () => {
    const { queue, call } = setup({ public: true });
    queue.schedule('digest', '0 9 * * *', { kind: 'daily' });
    const slot = '$schedule:digest:2030-01-01T09:00:00.000Z';
    for (const key of [slot, slot.slice(1)]) {
      const res = await call('POST', '/jobs/digest', { body: { chatId: 666, kind: 'attacker' }, chat: 666, key });
      expect(res.status).toBe(201);
      expect((await res.json()).id).toBe(`http:digest:${key}`);
    }
    expect(await queue.get(slot)).toBeUndefined();
    expect(await queue.enqueueScheduled()).toBeGreaterThanOrEqual(1);
    expect((await queue.get(slot))?.payload).toEqual({ kind: 'daily' });
  });

  it("cannot reach the app's own ids under another name or the same name", async () => {
    const { queue, call } = setup({ public: true });
    const report = await queue.add('report', { chatId: 7, month: '2026-11' }, { id: 'report:7:2026-11' });
    for (const name of ['digest', 'report']) {
      const res = await call('POST', `/jobs/${name}`, { body: { chatId: 8 }, chat: 8, key: 'report:7:2026-11' });
      expect(res.status).toBe(201);
      expect((await res.json()).id).toBe(`http:${name}:report:7:2026-11`);
    }
    const after = await queue.get('report:7:2026-11');
    expect([after?.name, after?.payload, after?.state]).toEqual(['report', report.payload, 'waiting']);
  });

  it("answers a key another chat used with 409 and nothing of that job; the owner gets it back", async () => {
    const { queue, call } = setup();
    const mine = await call('POST', '/jobs/report', { body: { chatId: 7, secretNote: 'salary' }, chat: 7, key: 'nov' });
    expect(mine.status).toBe(201);
    const { id } = await mine.json();

    const theirs = await call('POST', '/jobs/report', { body: { chatId: 8 }, chat: 8, key: 'nov' });
    expect(theirs.status).toBe(409);
    const text = await theirs.text();
    expect(JSON.parse(text).error.code).toBe('JOB_CONFLICT');
    expect(text).not.toMatch(/salary|chatId|waiting|http:report/);

    // Standard idempotency: the owner repeating the key gets the stored job, even with another payload.
    const again = await call('POST', '/jobs/report', { body: { chatId: 7, secretNote: 'other' }, chat: 7, key: 'nov' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id, state: 'waiting' });
    expect((await queue.get(id))?.payload).toEqual({ chatId: 7, secretNote: 'salary' });
  });

  it('maps an id held by another job name to 409 JOB_CONFLICT without naming that job', async () => {
    const { queue, call } = setup({ public: true });
    await queue.add('broken', { chatId: 7 }, { id: 'http:report:k1' });
    const res = await call('POST', '/jobs/report', { body: { chatId: 7 }, chat: 7, key: 'k1' });
    expect(res.status).toBe(409);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe('JOB_CONFLICT');
    expect(text).not.toContain('broken');

    // The same error thrown by the core (another request won a race between look-up and add).
    vi.spyOn(queue, 'add').mockRejectedValueOnce(new JobConflictError('http:report:k2', 'report', 'broken'));
    const raced = await call('POST', '/jobs/report', { body: { chatId: 7 }, chat: 7, key: 'k2' });
    expect(raced.status).toBe(409);
    const racedText = await raced.text();
    expect(JSON.parse(racedText).error.code).toBe('JOB_CONFLICT');
    expect(racedText).not.toContain('broken');
  });
});

describe('authorize sees the stored job', () => {
  it("lets a chat read and retry only its own jobs (the guide's report:<chat>:<month> ids)", async () => {
    const { queue, call, seen } = setup();
    const job = await queue.add('report', { chatId: 7 }, { id: 'report:7:2026-11' });
    await queue.cancel(job.id);
    const path = `/jobs/${encodeURIComponent(job.id)}`;
    for (const [method, suffix] of [['GET', ''], ['GET', '/result'], ['GET', '/missing'], ['HEAD', ''], ['POST', '/retry']] as const) {
      const res = await call(method, path + suffix, { chat: 8 });
      expect([method, suffix, res.status]).toEqual([method, suffix, 403]);
    }
    expect((await queue.get(job.id))?.state).toBe('cancelled');
    expect(seen.map(([action, subject]) => [action, (subject as { id: string }).id, (subject as { state: string }).state])).toEqual([
      ['read', job.id, 'cancelled'], ['read', job.id, 'cancelled'], ['read', job.id, 'cancelled'], ['read', job.id, 'cancelled'],
      ['retry', job.id, 'cancelled'],
    ]);

    expect((await call('GET', path, { chat: 7 })).status).toBe(200);
    expect((await call('POST', `${path}/retry`, { chat: 7 })).status).toBe(200);
    expect((await call('POST', '/jobs/report', { body: { chatId: 7 }, chat: 8 })).status).toBe(403);
    expect(seen.at(-1)).toEqual(['enqueue', { name: 'report', payload: { chatId: 7 } }]);
  });
});

describe('error details', () => {
  it('never puts a handler error message into status or result, unless exposeErrors is on', async () => {
    const { queue, call } = setup({ public: true });
    const { id } = await queue.add('broken', { chatId: 7 });
    expect(await runDue(queue)).toMatchObject({ failed: 1 });
    expect((await queue.get(id))?.error?.message).toBe(LEAKY);

    const status = await call('GET', `/jobs/${id}`, { chat: 7 });
    const statusText = await status.text();
    expect(JSON.parse(statusText)).toMatchObject({ state: 'failed', error: { name: 'Error' } });
    const result = await call('GET', `/jobs/${id}/result`, { chat: 7 });
    expect(result.status).toBe(409);
    const resultText = await result.text();
    for (const text of [statusText, resultText]) expect(text).not.toMatch(/secret|postgres|5432/);

    const exposed = jobsHttpHandler({ queue, public: true, exposeErrors: true });
    const s = await (await exposed(new Request(`http://bot.test/jobs/${id}`))).json();
    expect(s.error).toEqual({ name: 'Error', message: LEAKY });
    expect((await (await exposed(new Request(`http://bot.test/jobs/${id}/result`))).json()).error.message).toContain(LEAKY);
  });

  it('answers unexpected errors without details and hands the details to onError', async () => {
    const errors: unknown[] = [];
    const { queue, call } = setup({ public: true, onError: (e) => errors.push(e) });
    const bug = new TypeError(`Cannot read properties of undefined (${LEAKY})`);
    const down = new BackendUnavailableError('Postgres', 'get', new Error(LEAKY));
    vi.spyOn(queue, 'get').mockRejectedValueOnce(bug).mockRejectedValueOnce(down);

    const first = await call('GET', '/jobs/any', { chat: 7 });
    const second = await call('GET', '/jobs/any', { chat: 7 });
    expect([first.status, second.status]).toEqual([500, 503]);
    const texts = [await first.text(), await second.text()];
    expect(texts.map((t) => JSON.parse(t).error.code)).toEqual(['INTERNAL', 'BACKEND_UNAVAILABLE']);
    for (const text of texts) expect(text).not.toMatch(/secret|postgres/i);
    expect(errors).toEqual([bug, down]);
  });
});

describe('bad Host header through node:http', () => {
  it('answers 400 BAD_REQUEST, not 500, and never reaches the handler', async () => {
    const handler = vi.fn(async () => new Response('reached'));
    const server = http.createServer(toNodeHandler(handler));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const raw = (host: string) => new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET /jobs/x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
      let data = '';
      socket.on('data', (b) => { data += b; });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    try {
      for (const host of ['bad host', 'a b', 'x:99999', '[::1', 'evil.example/path', 'user@evil.example']) {
        const answer = await raw(host);
        expect([host, answer.split('\r\n')[0]]).toEqual([host, 'HTTP/1.1 400 Bad Request']);
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('BAD_REQUEST');
      }
      expect(handler).not.toHaveBeenCalled();
      expect((await raw('bot.example:8080')).split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
