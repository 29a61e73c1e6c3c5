/**
 * A LISTEN that survives: a dedicated connection, reconnect with capped exponential backoff and
 * jitter that never gives up, and a periodic liveness probe so a silently dead connection (no FIN,
 * e.g. a NAT dropped it) is noticed instead of waiting forever for notifications that never come.
 *
 * @module
 */
import { goesThroughPooler, pooledListenError } from './pooler.js';
import { withTimeout, type ConnectionSource, type DedicatedConnection } from './sync-connection.js';

/** What the listener reports. */
export interface ListenerEvents {
  payload(text: string): void;
  up(resumed: boolean): void;
  down(error: unknown): void;
  error(error: unknown): void;
  /** The connection goes through a pooler: listening stopped for good (a `BotwireConfigError`). */
  refused(error: unknown): void;
}

/** Timing of {@link ResilientListener}. */
export interface ListenerTiming {
  /** Longest wait between reconnect attempts. */
  maxBackoffMs: number;
  /** How often the connection is probed with `SELECT 1` (0 = never). */
  probeIntervalMs: number;
  /** How long a connect or LISTEN may take before the attempt counts as failed. */
  timeoutMs: number;
  /** How long a probe may take before the connection counts as dead. */
  probeTimeoutMs: number;
  /** Check the first connection for a pooler (one `SELECT pg_backend_pid()`) and refuse one. */
  refusePooler: boolean;
}

/** Keeps one LISTEN alive on a dedicated connection. */
export class ResilientListener {
  #conn: DedicatedConnection | undefined;
  #probe: ReturnType<typeof setInterval> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #everUp = false;
  /** When the current connection last delivered something: a busy connection needs no probe. */
  #lastHeard = 0;
  #connecting = false;
  #closed = false;

  constructor(
    private readonly source: ConnectionSource,
    private readonly channel: string,
    private readonly events: ListenerEvents,
    private readonly timing: ListenerTiming,
  ) {}

  /** Start listening (and keep at it until `close()`). */
  start(): void {
    void this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closed || this.#connecting || this.#conn) return;
    this.#connecting = true;
    let conn: DedicatedConnection | undefined;
    try {
      conn = await withTimeout(this.source(), this.timing.timeoutMs, 'Postgres connect', (late) => void late.close());
      if (this.#closed) { await conn.close(); return; }
      const current = conn;
      conn.onNotification((channel, payload) => {
        if (this.#conn !== current) return;
        this.#lastHeard = Date.now();
        if (channel === this.channel) this.events.payload(payload);
      });
      conn.onLost((error) => this.#lost(current, error));
      if (this.timing.refusePooler && !this.#everUp
        && await withTimeout(goesThroughPooler(conn), this.timing.timeoutMs, 'pooler check')) {
        this.#closed = true;
        await conn.close();
        this.events.refused(pooledListenError('postgresSyncBus', ' as `connectionString` or `client`'));
        return;
      }
      await withTimeout(conn.query(`LISTEN "${this.channel}"`), this.timing.timeoutMs, 'LISTEN');
      if (this.#closed) { await conn.close(); return; }
      this.#conn = conn;
      this.#attempt = 0;
      this.#startProbe(conn);
      const resumed = this.#everUp;
      this.#everUp = true;
      this.events.up(resumed);
    } catch (error) {
      await conn?.close();
      if (this.#closed) return;
      if (this.#attempt === 0) this.events.down(error);
      else this.events.error(error);
      this.#schedule();
    } finally {
      this.#connecting = false;
    }
  }

  #schedule(): void {
    // 0, 50, 100, 200 … capped: the first retry is immediate (a terminated backend on a live server).
    const base = this.#attempt === 0 ? 0 : Math.min(this.timing.maxBackoffMs, 25 * 2 ** this.#attempt);
    this.#attempt++;
    const delay = base === 0 ? 0 : base / 2 + Math.random() * (base / 2);
    this.#retry = setTimeout(() => { this.#retry = undefined; void this.#connect(); }, delay);
  }

  #lost(conn: DedicatedConnection, error: unknown): void {
    if (this.#conn !== conn || this.#closed) return;
    this.#conn = undefined;
    clearInterval(this.#probe);
    void conn.close();
    this.events.down(error);
    this.#attempt = 0;
    this.#schedule();
  }

  #startProbe(conn: DedicatedConnection): void {
    if (this.timing.probeIntervalMs <= 0) return;
    let inFlight = false;
    this.#lastHeard = Date.now();
    this.#probe = setInterval(() => {
      // Only a silent connection is probed: under a flood of notifications the answer would queue
      // behind them and a loaded process could mistake a healthy connection for a dead one.
      if (inFlight || this.#conn !== conn || Date.now() - this.#lastHeard < this.timing.probeIntervalMs / 2) return;
      inFlight = true;
      withTimeout(conn.query('SELECT 1'), this.timing.probeTimeoutMs, 'liveness probe')
        .then(() => { this.#lastHeard = Date.now(); }, (error: unknown) => this.#lost(conn, error))
        .finally(() => { inFlight = false; });
    }, this.timing.probeIntervalMs);
    // The probe must not keep a process alive that has nothing else to do.
    (this.#probe as { unref?: () => void }).unref?.();
  }

  /** Stop listening for good and destroy the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#probe);
    const conn = this.#conn;
    this.#conn = undefined;
    await conn?.close();
  }
}
