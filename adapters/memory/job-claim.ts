import type { ClaimArgs } from 'botwire/jobs';
import { claimOrder, type JobIndex, type JobRec, type Lane } from './job-index.js';
import type { NameLimits } from './job-limits.js';

/** Most due jobs and lanes one claim looks at (skipping those over its time budget), as on Redis. */
const MAX_SCAN = 1_000;

/** What a claim found besides its jobs: the hint of `ClaimedJobs`. */
export interface ClaimHint {
  heldBack: boolean;
  retryAt: number | undefined;
}

/**
 * The memory backend's claim, by the rules of the fleet contract (`botwire/jobs` fleet-backend):
 * picks one job at a time — from the lane with the lowest turn among those holding an eligible job
 * (only the lane without group when `groupConcurrency` is absent) — within the room the limits of
 * each name and the cap of each group leave, and hands each pick to `activate` at once (which makes
 * it active, so it leaves its lane). `ahead`: a claim made ahead (no rate-limited names).
 */
export function claimJobs(
  index: JobIndex, limits: NameLimits, args: ClaimArgs, ahead: boolean, activate: (rec: JobRec) => void,
): ClaimHint {
  const now = args.now;
  const cap = args.groupConcurrency;
  index.promote(now);
  const names = [...new Set(args.names)];
  // Counts of the index: the jobs this claim activates are counted as it goes.
  const live = index.live(now);
  const room = new Map<string, number>();
  for (const name of names) room.set(name, limits.room(name, live.name(name), now, ahead).room);
  const lifted: JobRec[] = [];
  const passed: Lane[] = [];
  let scanned = 0;
  let heldBack = false;
  let taken = 0;

  /** The lane's first eligible job in claim order, looking past (lifting) jobs that do not fit. */
  const firstIn = (lane: Lane): JobRec | undefined => {
    let found: JobRec | undefined;
    for (const name of names) {
      if (!(room.get(name)! > 0)) continue;
      const heap = lane.due.get(name);
      let top = heap?.peek();
      while (top && (top.job.timeoutMs > args.maxTimeoutMs || top.job.runAt > now) && scanned < MAX_SCAN) {
        index.lift(top);
        lifted.push(top);
        scanned++;
        top = heap!.peek();
      }
      if (top && top.job.timeoutMs <= args.maxTimeoutMs && top.job.runAt <= now && (!found || claimOrder(top, found))) found = top;
    }
    return found;
  };
  /** The group lane with the lowest turn that has an eligible job; lanes passed over leave the heap for now. */
  const nextGroup = (): { lane: Lane; rec: JobRec } | undefined => {
    if (cap === undefined) return undefined;
    for (let lane = index.rotation.peek(); lane && scanned < MAX_SCAN; lane = index.rotation.peek()) {
      if (live.group(lane.group!) < cap) {
        const rec = firstIn(lane);
        if (rec) return { lane, rec };
      } else if (names.some((n) => lane!.due.get(n)?.size)) heldBack = true;
      index.rotation.remove(lane);
      passed.push(lane);
      scanned++;
    }
    return undefined;
  };

  while (taken < args.limit && scanned < MAX_SCAN) {
    const u = firstIn(index.ungrouped);
    const g = nextGroup();
    const fromGroup = g !== undefined && (!u || g.lane.turn < index.ungrouped.turn);
    const rec = fromGroup ? g.rec : u;
    if (!rec) break;
    const lane = fromGroup ? g.lane : index.ungrouped;
    scanned++;
    taken++;
    activate(rec);
    room.set(rec.job.name, room.get(rec.job.name)! - 1);
    limits.started(rec.job.name, now);
    if (cap !== undefined) {
      lane.turn = index.nextTurn();
      if (lane.heap) index.rotation.update(lane);
    }
  }
  for (const rec of lifted) index.unlift(rec);
  for (const lane of passed) if (!lane.heap && lane.dueCount > 0) index.rotation.push(lane);

  let retryAt: number | undefined;
  if (taken < args.limit) {
    for (const name of names) {
      // Without a cap only jobs without group count: such a claim never takes grouped ones.
      const due = cap === undefined ? index.ungrouped.due.get(name)?.size ?? 0 : index.due(name);
      if (room.get(name)! > 0 || due === 0) continue;
      heldBack = true;
      const opensAt = limits.room(name, live.name(name), now, ahead).opensAt;
      if (opensAt !== undefined && (retryAt === undefined || opensAt < retryAt)) retryAt = opensAt;
    }
  }
  return { heldBack: heldBack && taken < args.limit, retryAt };
}
