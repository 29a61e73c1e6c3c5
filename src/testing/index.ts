/**
 * Contract suites: the behaviour every adapter must show, runnable unchanged against your own
 * adapter with vitest.
 *
 * @module botwire/testing
 */
export { sessionStoreContract, type SessionStoreHarness, type SessionStoreContractOptions } from './session-store-contract.js';
export { syncBusContract, type SyncBusHarness, type SyncBusContractOptions, type SyncBusCreateOptions } from './sync-bus-contract.js';
export { jobQueueContract, type JobQueueHarness, type JobQueueContractOptions } from './job-queue-contract.js';
