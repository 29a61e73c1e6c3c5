/** Vercel function: the Telegram webhook (`POST /api/bot`). */
import { getApp } from '../src/app.js';

export async function POST(request: Request): Promise<Response> {
  return (await getApp()).fetch(request);
}
