/** What the views share: the overview (features, counts) and the selected queue. */
export interface Overview {
  queue: string;
  features: { queues: string[]; sessions: boolean; sessionEdit: boolean; events: boolean; health: string[] };
  counts: { total: Record<string, number>; byName: Record<string, Record<string, number>>; capped: string[] } | null;
  schedules: Array<{ key: string; name: string; cron: string; tz: string; next: string[]; nextIds: string[] }>;
  limits: Array<{ name: string; concurrency?: number; rate?: { max: number; perMs: number }; active: number | null }> | null;
  loginUrl: string | null;
}

export const STATES = ['waiting', 'delayed', 'active', 'partial', 'completed', 'failed', 'cancelled'] as const;

/** The queue the page looks at (`?queue=` of every call). */
export const current = { queue: '' };

/** `?queue=…` to append to a path (with `&` when the path has a query already). */
export function q(path: string): string {
  return current.queue ? `${path}${path.includes('?') ? '&' : '?'}queue=${encodeURIComponent(current.queue)}` : path;
}
