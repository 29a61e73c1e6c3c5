/** Vercel function: every `/api/admin/*` route (vercel.json rewrites them here; the URL keeps its path). */
import { getApp } from '../src/app.js';

export async function GET(request: Request): Promise<Response> {
  return (await getApp()).fetch(request);
}
export const POST = GET;
export const PATCH = GET;
export const PUT = GET;
export const DELETE = GET;
