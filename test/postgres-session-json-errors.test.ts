/**
 * Which Postgres errors the session store reports as SessionSerializationError: only jsonb refusing
 * the value. SQLSTATE 22P02 is shared with every other input function (a "0.5" sent for a bigint
 * version), so the code alone must not decide. The core refuses such versions before the backend;
 * a client wrapper tampers with the statement's parameters to reach the server with them anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSessionStore, type PgQueryable } from '../adapters/postgres/index.js';
import { SessionSerializationError } from '../src/errors.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { needs, uniqueName } from './support/services.js';

const withPostgres = await needs('postgres');

type Tamper = (text: string, params: unknown[]) => unknown[];

/** A client whose next session_set/session_commit statement has its parameters rewritten. */
function tampering(client: PgQueryable): PgQueryable & { next?: Tamper } {
  const wrapper: PgQueryable & { next?: Tamper } = {
    query(text: string, params?: unknown[]) {
      const tamper = wrapper.next;
      if (tamper && /\.session_(set|commit)\(/.test(text)) {
        wrapper.next = undefined;
        return client.query(text, tamper(text, params ?? []));
      }
      return client.query(text, params);
    },
  } as PgQueryable & { next?: Tamper };
  return wrapper;
}

const LONE_SURROGATE_JSON = '{"a":"\\udc00"}';

function cases(label: string, open: () => Promise<PgSchema<PgQueryable>>): void {
  describe(label, () => {
    let env: PgSchema<PgQueryable>;
    let db: ReturnType<typeof tampering>;
    beforeAll(async () => {
      env = await open();
      db = tampering(env.client);
    });
    afterAll(async () => { await env?.drop(); });

    const store = () => postgresSessionStore({ client: db, schema: env.schema, listen: false, preparedStatements: false });

    it('a value jsonb refuses (lone surrogate, 22P02 from the JSON parser) is SessionSerializationError', async () => {
      db.next = (_t, p) => [p[0], LONE_SURROGATE_JSON, ...p.slice(2)];
      await expect(store().set(uniqueName('k'), { a: 1 })).rejects.toBeInstanceOf(SessionSerializationError);
      const s = store();
      const lease = await s.acquire(uniqueName('k'));
      db.next = (_t, p) => [...p.slice(0, 4), LONE_SURROGATE_JSON, ...p.slice(5)];
      await expect(lease.commit({ a: 1 })).rejects.toBeInstanceOf(SessionSerializationError);
      await lease.release();
    });

    it('a 22P02 from another parameter (a fractional version for a bigint) is not', async () => {
      const key = uniqueName('k');
      await store().set(key, { a: 1 });
      db.next = (_t, p) => [...p.slice(0, 3), 0.5];
      const err = await store().set(key, { a: 2 }, { ifVersion: 1 }).catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(SessionSerializationError);
      expect((err as { code?: string }).code).toBe('22P02');
      const s = store();
      const lease = await s.acquire(key);
      db.next = (_t, p) => [p[0], p[1], 0.5, ...p.slice(3)];
      const commitErr = await lease.commit({ a: 3 }).catch((e: unknown) => e);
      expect(commitErr).not.toBeInstanceOf(SessionSerializationError);
      expect((commitErr as { code?: string }).code).toBe('22P02');
      await lease.release();
      expect((await s.get(key))?.data).toEqual({ a: 1 });
    });
  });
}

cases('PGlite', () => withPgSchema('bw_json', { pglite: true }));

if (withPostgres) {
  cases('Postgres', () => withPgSchema('bw_json', { max: 2 }));
}
