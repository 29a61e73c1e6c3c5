/** Vercel function: `GET /health` (rewritten to `/api/health` in vercel.json). */
import { getApp } from '../src/app.js';

export async function GET(request: Request): Promise<Response> {
  const url = new URL(request.url);
  url.pathname = '/health';
  return (await getApp()).fetch(new Request(url, request));
}
