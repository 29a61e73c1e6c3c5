/**
 * Serves the built admin panel (`admin/dist`, see admin/vite.config.ts) at `/admin/` from the Node
 * server. On Vercel, serve `admin/dist` as static files instead.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../admin/dist/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
};

/** The panel's file for `pathname` (under `/admin/`), `index.html` for anything else; 503 before a build. */
export async function adminPanel(pathname: string): Promise<Response> {
  const rel = normalize(pathname.slice('/admin/'.length) || 'index.html');
  const file = rel.startsWith('..') || rel.startsWith('/') ? 'index.html' : rel;
  for (const candidate of [file, 'index.html']) {
    try {
      const body = await readFile(join(DIST, candidate));
      return new Response(body, { headers: { 'content-type': TYPES[extname(candidate)] ?? 'application/octet-stream' } });
    } catch {
      // not this one
    }
  }
  return new Response('The admin panel is not built: npx vite build --config examples/webhook-app/admin/vite.config.ts\n', { status: 503 });
}
