/** Vercel function: `/api/cron/tick`, called by Vercel Cron with `Authorization: Bearer $CRON_SECRET`. */
import { getApp } from '../../src/app.js';

export async function GET(request: Request): Promise<Response> {
  return (await getApp()).fetch(request);
}
export const POST = GET;
