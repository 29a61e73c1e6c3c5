import { JobNotFoundError, JobStateError } from '../errors.js';
import type { JobState, StoredJob } from './backend.js';
import { assertJobId, toJob } from './codec.js';
import type { QueueFields, QueueInternals } from './queue-internals.js';
import { unsupported } from './new-job.js';
import type { Job } from './types.js';

// The manual state changes of one job by id (`JobQueue.retry`, `cancel`, `remove`): the backend
// answers only whether the change happened, so a read afterwards names the state that refused it.

/** Allowed source states of the manual operations, for error messages. */
const RETRYABLE: readonly JobState[] = ['failed', 'cancelled', 'partial', 'delayed'];
const CANCELLABLE: readonly JobState[] = ['waiting', 'delayed', 'partial', 'active'];
const REMOVABLE: readonly JobState[] = ['waiting', 'delayed', 'partial', 'completed', 'failed', 'cancelled'];

async function requireJob(queue: QueueFields, q: QueueInternals, id: string): Promise<StoredJob> {
  const raw = await q.call('get', id, () => queue.backend.get(id));
  if (!raw) throw new JobNotFoundError(id);
  return raw;
}

/** `JobQueue.retry`. @internal */
export async function retryJob(queue: QueueFields, q: QueueInternals, id: string): Promise<Job> {
  assertJobId(id);
  const ok = await q.call('retry', id, () => queue.backend.retry(id, queue.now()));
  const raw = await requireJob(queue, q, id);
  if (!ok) throw new JobStateError(id, 'retry', raw.state, RETRYABLE);
  q.publish(raw, 'waiting');
  return toJob(raw, queue.now());
}

/** `JobQueue.cancel`. @internal */
export async function cancelJob(queue: QueueFields, q: QueueInternals, id: string): Promise<Job> {
  assertJobId(id);
  const ok = await q.call('cancel', id, () => queue.backend.cancel(id, queue.now()));
  const raw = await requireJob(queue, q, id);
  if (!ok) throw new JobStateError(id, 'cancel', raw.state, CANCELLABLE);
  q.publish(raw, 'cancelled');
  return toJob(raw, queue.now());
}

/** `JobQueue.remove`. @internal */
export async function removeJob(queue: QueueFields, q: QueueInternals, id: string): Promise<boolean> {
  assertJobId(id);
  if (typeof queue.backend.remove !== 'function') throw unsupported('remove');
  // The backend answers false for both "absent" and "active"; a read tells them apart. A job that
  // stopped being active in between is removed on a second try.
  for (let turn = 0; ; turn++) {
    if (await q.call('remove', id, () => queue.backend.remove!(id, queue.now()))) return true;
    const raw = await q.call('get', id, () => queue.backend.get(id));
    if (!raw) return false;
    if (raw.state === 'active' || turn > 0) throw new JobStateError(id, 'remove', raw.state, REMOVABLE);
  }
}
