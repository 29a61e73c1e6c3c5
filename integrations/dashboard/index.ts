/**
 * One mountable page to see and act on jobs, sessions and events, live: `dashboardHandler` serves a
 * prebuilt page (shipped inside the package, no runtime dependency) and the JSON and Server-Sent
 * Events endpoints it uses, as a web-standard `(Request) => Promise<Response>`. Use
 * `toNodeHandler` from `botwire/http/node` for Express and `node:http`.
 *
 * @module botwire/dashboard
 */
export {
  type DashboardOptions, type DashboardAction, type DashboardSubject, type DashboardAuthorize, type DashboardHealthCheck,
} from './dashboard-options.js';
export { dashboardHandler } from './dashboard-handler.js';
export { basicAuthorize } from './basic-auth.js';
