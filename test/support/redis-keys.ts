/** Test and bench cleanup on a shared Redis: delete every key matching a pattern (SCAN, never KEYS). */
import type { Redis } from 'ioredis';

export async function deleteKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
