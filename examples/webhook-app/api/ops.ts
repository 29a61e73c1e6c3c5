/**
 * Vercel function: the ops dashboard (`/admin/ops/*`, botwire/dashboard; vercel.json rewrites those
 * paths here and the URL keeps its path). Its live event stream closes every 25 s and the page
 * resumes it, well within `maxDuration`.
 */
import { getApp } from '../src/app.js';

export async function GET(request: Request): Promise<Response> {
  return (await getApp()).fetch(request);
}
export const POST = GET;
export const HEAD = GET;
