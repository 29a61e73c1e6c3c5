import type { ListArgs, ListPage, StoredJob } from 'botwire/jobs';
import type { JobRec } from './job-index.js';

/**
 * One page of `JobBackend.list` over every stored job: a dashboard read, not on a worker's path,
 * so a scan is fine here. Cursor = "<createdAt>:<id>" of the last job returned; order is
 * createdAt desc, then id desc.
 */
export function listJobs(recs: Iterable<JobRec>, args: ListArgs): ListPage {
  const cut = args.cursor ? args.cursor.indexOf(':') : -1;
  const cAt = cut > 0 ? Number(args.cursor!.slice(0, cut)) : Infinity;
  const cId = cut > 0 ? args.cursor!.slice(cut + 1) : '';
  const page: StoredJob[] = [];
  for (const { job: j } of recs) {
    if ((args.state && j.state !== args.state) || (args.name && j.name !== args.name)) continue;
    if (j.createdAt < cAt || (j.createdAt === cAt && j.id < cId)) page.push(j);
  }
  page.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const jobs = page.slice(0, args.limit).map((j) => ({ ...j }));
  const last = jobs[jobs.length - 1];
  return page.length > args.limit && last ? { jobs, cursor: `${last.createdAt}:${last.id}` } : { jobs };
}
