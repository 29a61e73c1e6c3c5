/**
 * The admin API behind `Authorization: Bearer $ADMIN_TOKEN` — what the admin panel calls. Every
 * write goes through `AppData`, which publishes the matching event, so bots drop their cached
 * keyboards and open admin pages refetch.
 *
 * | route | does |
 * | --- | --- |
 * | `GET/POST /api/admin/{buttons,tasks,scenarios}` | list / create |
 * | `PATCH/DELETE /api/admin/{buttons,tasks,scenarios}/:id` | update / delete |
 * | `GET /api/admin/users`, `PATCH /api/admin/users/:id`, `POST /api/admin/users/:id/balance` `{ delta }` | users |
 * | `GET/PUT /api/admin/settings` `{ key, value }` | settings |
 * | `GET /api/admin/payouts`, `POST /api/admin/payouts/:id/{approve,decline}` | payouts |
 * | `POST/DELETE /api/admin/session` | sign this browser in to (out of) the ops dashboard: sets (clears) its cookie |
 */
import { AppInputError, type AppData } from '../data.js';
import { CRUD_COLLECTIONS, type CrudCollection } from '../topics.js';
import { adminCookieHeader, hasBearer } from './auth.js';

const json = (status: number, body: unknown): Response => Response.json(body, { status, headers: { 'cache-control': 'no-store' } });
const error = (status: number, code: string, message: string): Response => json(status, { error: { code, message } });

async function body(request: Request): Promise<unknown> {
  if (!(request.headers.get('content-type') ?? '').includes('json')) throw new AppInputError('send Content-Type: application/json');
  try {
    return await request.json();
  } catch {
    throw new AppInputError('the body is not JSON');
  }
}

/** The admin API as one `(Request) => Response`; `path` is the part after `/api/admin/`. */
export function adminHandler(data: AppData, adminToken: string) {
  return async (request: Request, path: string): Promise<Response> => {
    if (!(await hasBearer(request, adminToken))) return error(401, 'UNAUTHORIZED', 'send Authorization: Bearer <ADMIN_TOKEN>');
    const [resource = '', idText, verb] = path.split('/').filter(Boolean);
    const id = idText === undefined ? undefined : Number(idText);
    if (id !== undefined && !Number.isInteger(id)) return error(400, 'BAD_ID', `"${idText}" is not an id`);
    const m = request.method;
    try {
      if ((CRUD_COLLECTIONS as readonly string[]).includes(resource)) {
        const c = resource as CrudCollection;
        if (id === undefined && m === 'GET') return json(200, await data.list(c));
        if (id === undefined && m === 'POST') return json(201, await data.create(c, await body(request)));
        if (id !== undefined && m === 'PATCH') return json(200, await data.update(c, id, await body(request)));
        if (id !== undefined && m === 'DELETE') { await data.remove(c, id); return new Response(null, { status: 204 }); }
      } else if (resource === 'users') {
        if (id === undefined && m === 'GET') return json(200, await data.users());
        if (id !== undefined && !verb && m === 'PATCH') return json(200, await data.updateUser(id, await body(request)));
        if (id !== undefined && verb === 'balance' && m === 'POST') {
          return json(200, await data.addBalance(id, Number((await body(request) as { delta?: unknown }).delta)));
        }
      } else if (resource === 'settings') {
        if (m === 'GET') return json(200, await data.settings());
        if (m === 'PUT') {
          const b = await body(request) as { key?: unknown; value?: unknown };
          await data.setSetting(String(b.key), b.value);
          return json(200, await data.settings());
        }
      } else if (resource === 'session') {
        if (id === undefined && (m === 'POST' || m === 'DELETE')) {
          const cookie = await adminCookieHeader(request, adminToken, m === 'DELETE');
          return new Response(null, { status: 204, headers: { 'set-cookie': cookie, 'cache-control': 'no-store' } });
        }
      } else if (resource === 'payouts') {
        if (id === undefined && m === 'GET') return json(200, await data.payouts());
        if (id !== undefined && (verb === 'approve' || verb === 'decline') && m === 'POST') {
          return json(200, await data.decidePayout(id, verb === 'approve'));
        }
      } else {
        return error(404, 'NOT_FOUND', `no admin resource "${resource}"`);
      }
      return error(405, 'METHOD_NOT_ALLOWED', `${m} /api/admin/${path} is not a route`);
    } catch (err) {
      if (err instanceof AppInputError) return error(400, 'BAD_INPUT', err.message);
      throw err;
    }
  };
}
