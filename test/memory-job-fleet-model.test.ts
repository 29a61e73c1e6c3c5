/**
 * The fleet rules of the job contract (src/jobs/fleet-backend.ts) written as a model that scans
 * every job for every operation — limits per name (live leases, sliding rate windows), group caps,
 * lanes served by turn, debounce, counts — and the memory backend driven next to it with random
 * operations: same claims in the same order, same hints, same counts, same stored jobs. The model
 * reads like the contract text, so a Redis or Postgres backend can be driven against it too (test/support/fleet-model.ts).
 */
import { memoryJobBackend } from '../adapters/memory/job-backend.js';
import { fleetModelSuite } from './support/fleet-model.js';

fleetModelSuite('memory', () => ({ backend: memoryJobBackend() }));
