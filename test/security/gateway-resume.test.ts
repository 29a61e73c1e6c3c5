/**
 * Resume amplification on the sync gateway: a `resume` frame is 15 bytes and used to replay up to the
 * whole 16 MiB buffer, as often as a connection liked (200 frames → 47.7 MiB in 284 ms). Each resume
 * now replays at most `maxResumeBytes` (else `resync`), a connection gets `maxResumes` per
 * `resumeWindowMs` (one more closes it with 4430).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memorySyncBus } from 'botwire/memory';
import { createSyncGateway, SyncCloseCode, type SyncGatewayOptions } from 'botwire/ws';
import type { AckFrame, EventFrame, ResyncFrame } from '../../src/sync/protocol.js';
import { connectPeer, type Peer } from '../support/ws-peer.js';

const MiB = 1_048_576;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A gateway whose replay buffer holds `events` events of ~`size` bytes published before anyone connected. */
async function filled(events: number, size: number, extra: Partial<SyncGatewayOptions> = {}) {
  const bus = memorySyncBus();
  const gateway = await createSyncGateway({ bus, port: 0, host: '127.0.0.1', authorize: () => ({ allow: ['**'] }), onError: () => {}, ...extra });
  cleanups.push(async () => { await gateway.close(); await bus.close(); });
  const pad = 'x'.repeat(size);
  for (let i = 0; i < events; i++) await bus.publish('reports.ready', { i, pad });
  const peers: Peer[] = [];
  const open = async (): Promise<{ peer: Peer; bytes: () => number }> => {
    const peer = await connectPeer(`ws://127.0.0.1:${gateway.port}/sync`, { token: 't' });
    peers.push(peer);
    cleanups.push(() => peer.ws.terminate());
    let bytes = 0;
    peer.ws.on('message', (data: Buffer) => { bytes += data.length; });
    peer.send({ type: 'subscribe', id: 's', patterns: ['reports.*'] });
    await peer.next((f) => f.type === 'ack' && (f as AckFrame).id === 's');
    return { peer, bytes: () => bytes };
  };
  return { bus, gateway, open };
}

describe('gateway resume limits', () => {
  it('200 resume frames over a 16 MiB buffer: resync each, then closed with 4430 after maxResumes; < 3 MiB sent', async () => {
    const { gateway, open } = await filled(1_000, 16_000);
    const { peer, bytes } = await open();
    for (let i = 0; i < 200; i++) peer.send({ type: 'resume', epoch: gateway.epoch, lastSeq: 30 });
    const { code } = await peer.closed;
    expect(code).toBe(SyncCloseCode.TOO_MANY_RESUMES);
    expect(code).toBe(4430);
    expect(bytes()).toBeLessThan(3 * MiB);
    const resyncs = peer.frames.filter((f): f is ResyncFrame => f.type === 'resync');
    expect(resyncs).toHaveLength(5);
    expect(resyncs.every((f) => f.reason === 'buffer')).toBe(true);
    expect(peer.frames.some((f) => f.type === 'event')).toBe(false);
  });

  it('replays within maxResumeBytes, maxResumes times, so one connection gets at most maxResumes × maxResumeBytes', async () => {
    // A large maxBufferedBytes isolates the resume bounds from the slow-consumer one.
    const { gateway, open } = await filled(1_000, 16_000, { maxBufferedBytes: 256 * MiB });
    const { peer, bytes } = await open();
    const lastSeq = gateway.seq - 60; // 60 events of ~16 KB: just under 1 MiB per replay
    for (let i = 0; i < 200; i++) peer.send({ type: 'resume', id: `r${i}`, epoch: gateway.epoch, lastSeq });
    expect((await peer.closed).code).toBe(4430);
    const events = peer.frames.filter((f): f is EventFrame => f.type === 'event');
    expect(events).toHaveLength(5 * 60);
    expect(peer.frames.filter((f) => f.type === 'ack' && f.id?.startsWith('r'))).toHaveLength(5);
    expect(bytes()).toBeLessThanOrEqual(5 * MiB + 64 * 1024);
    expect(bytes()).toBeGreaterThan(4 * MiB);
  });

  it('answers a single resume over maxResumeBytes with resync (buffer) and keeps the connection', async () => {
    const { gateway, open, bus } = await filled(100, 16_000, { maxResumeBytes: 512 * 1024 });
    const { peer } = await open();
    peer.send({ type: 'resume', id: 'big', epoch: gateway.epoch, lastSeq: 0 });
    expect(await peer.next<ResyncFrame>((f) => f.type === 'resync')).toMatchObject({ reason: 'buffer', seq: gateway.seq });
    peer.send({ type: 'resume', id: 'small', epoch: gateway.epoch, lastSeq: gateway.seq - 10 });
    await peer.next((f) => f.type === 'ack' && (f as AckFrame).id === 'small');
    expect(peer.frames.filter((f) => f.type === 'event')).toHaveLength(10);
    await bus.publish('reports.live', 1);
    expect((await peer.next<EventFrame>((f) => f.type === 'event' && (f as EventFrame).envelope.topic === 'reports.live')).envelope.data).toBe(1);
  });

  it('counts resumes in a sliding window: they are allowed again once it has passed', async () => {
    const { gateway, open } = await filled(10, 100, { maxResumes: 2, resumeWindowMs: 300 });
    const { peer } = await open();
    const resume = async (id: string): Promise<void> => {
      peer.send({ type: 'resume', id, epoch: gateway.epoch, lastSeq: gateway.seq });
      await peer.next((f) => f.type === 'ack' && (f as AckFrame).id === id);
    };
    await resume('a');
    await resume('b');
    await new Promise((r) => setTimeout(r, 350));
    await resume('c');
    await resume('d');
    peer.send({ type: 'resume', id: 'e', epoch: gateway.epoch, lastSeq: gateway.seq });
    expect((await peer.closed).code).toBe(4430);
  });

  it('rejects non-integer or non-positive limits with BotwireConfigError', async () => {
    const bus = memorySyncBus();
    cleanups.push(() => bus.close());
    for (const bad of [{ maxResumeBytes: 0 }, { maxResumes: 0 }, { resumeWindowMs: -1 }, { maxResumes: 1.5 }]) {
      await expect(createSyncGateway({ bus, port: 0, authorize: () => false, ...bad })).rejects.toMatchObject({ code: 'CONFIG' });
    }
  });
});
