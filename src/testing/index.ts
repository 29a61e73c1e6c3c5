/**
 * Contract suites: the behaviour every adapter must show, runnable unchanged against your own
 * adapter with vitest.
 *
 * @module botwire/testing
 */
export { sessionStoreContract, type SessionStoreHarness, type SessionStoreContractOptions } from './session-store-contract.js';
export { syncBusContract, type SyncBusHarness, type SyncBusContractOptions, type SyncBusCreateOptions } from './sync-bus-contract.js';
export { jobQueueContract, type JobQueueHarness, type JobQueueContractOptions } from './job-queue-contract.js';
export { jobFleetContract, type JobFleetContractOptions } from './job-fleet-contract.js';
export { semaphoreContract, type SemaphoreHarness, type SemaphoreContractOptions } from './semaphore-contract.js';
export {
  limitScenario, rateScenario, fairnessScenario, semaphoreScenario, runFleetScenario, memoryScenarioLog,
  type FleetScenario, type ScenarioEvent, type ScenarioLog, type ScenarioReport, type CheckOptions,
} from './fleet-scenarios.js';
