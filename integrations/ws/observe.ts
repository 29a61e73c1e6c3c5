import type { IncomingMessage } from 'node:http';
import { logs } from '../../src/logger.js';
import type { ConnectOutcome, SyncGatewayOptions } from './options.js';

/**
 * Run one upgrade's admission under a `botwire.gateway.connect` span, count it by outcome and log
 * it: refusals at `warn` (with the client's address, never its token), acceptances at `debug`.
 */
export async function observeConnect(
  options: Pick<SyncGatewayOptions, 'logger' | 'telemetry' | 'path'>, request: IncomingMessage, admit: () => Promise<ConnectOutcome>,
  connections: () => number,
): Promise<void> {
  const { logger, telemetry } = options;
  const since = performance.now();
  const span = telemetry?.startSpan('botwire.gateway.connect', 'server');
  let outcome: ConnectOutcome = 'error';
  try {
    outcome = await (span ? telemetry!.withSpan(span, admit) : admit());
  } finally {
    const durationMs = Math.round((performance.now() - since) * 10) / 10;
    span?.setAttribute('botwire.gateway.outcome', outcome);
    span?.end(outcome === 'accepted' ? undefined : outcome);
    telemetry?.count('botwire.gateway.connections', { 'botwire.gateway.outcome': outcome });
    const level = outcome === 'accepted' ? 'debug' : 'warn';
    if (logs(logger, level)) {
      const fields = { name: options.path ?? '/sync', outcome, durationMs, connections: connections(), remote: request.socket.remoteAddress };
      logger[level](fields, outcome === 'accepted' ? 'botwire gateway: connection accepted' : 'botwire gateway: upgrade refused');
    }
  }
}
