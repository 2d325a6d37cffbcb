/**
 * Upstream pacing of `CoapServerLink` (RFC 7252 §4.4) over real CoAP on loopback, with a tiny
 * Message ID space and a short lifetime so that the budget runs out within a test. Checks order and
 * counts, never speed.
 */
import type { UeServiceId } from '@msgin5g/core';
import { createReferenceServer, type ReferenceServer } from '@msgin5g/server';
import { CoapServerLink } from '@msgin5g/coap-server-link';
import { CON, piggybacked, RawCoapPeer } from './raw-coap-peer';

const ue = (i: number) => `dev-${i}` as UeServiceId;

describe('CoapServerLink upstream pacing', () => {
  let server: ReferenceServer;
  let uri: string;
  const links: CoapServerLink[] = [];

  beforeEach(async () => {
    server = createReferenceServer({ host: '127.0.0.1', port: 0, checkMessageIdReuse: true });
    const { port } = await server.start();
    uri = `coap://127.0.0.1:${port}/msgin5g`;
  });
  afterEach(async () => {
    await Promise.all(links.splice(0).map((l) => l.close()));
    await server.stop();
  });

  it('spends at most messageIdsPerSocket IDs per lifetime, queues the rest, and never reuses an ID within the lifetime', async () => {
    // A raw peer, not the reference server: the server remembers IDs for 247 s, longer than this test's lifetime.
    const peer = await RawCoapPeer.start();
    peer.onMessage((m, p) => {
      if (m.type === CON) p.send(piggybacked(m, '2.04', '{"messageType":"REG","result":"SUCCESS"}'), m.from);
    });
    const lifetimeMs = 600;
    const link = new CoapServerLink({ uri: peer.uri, deadlineMs: 20_000, upstreamSockets: 1, messageIdsPerSocket: 4, exchangeLifetimeMs: lifetimeMs });
    links.push(link);
    try {
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => link.register({ ueServiceId: ue(i) })));
      expect(outcomes.every((o) => o.kind === 'SUCCESS')).toBe(true);
      expect(link.stats).toMatchObject({ sentPerSocket: [10], queued: 6, queueFull: 0, waiting: 0, forcedReuse: 0 });
      const requests = peer.received.filter((m) => m.type === CON);
      // 10 exchanges on 4 IDs; each reuse comes a lifetime after the previous use (less the wire's
      // delay of the first copy, so half a lifetime is a safe lower bound that still fails on no pacing).
      expect(new Set(requests.map((m) => m.messageId)).size).toBe(4);
      const lastAt = new Map<number, number>();
      for (const m of requests) {
        const before = lastAt.get(m.messageId);
        if (before !== undefined) expect(m.at - before).toBeGreaterThanOrEqual(lifetimeMs / 2);
        lastAt.set(m.messageId, m.at);
      }
    } finally {
      await link.close();
      await peer.close();
    }
  });

  it('sends through the reference server in check mode without a single reuse', async () => {
    const link = new CoapServerLink({ uri, deadlineMs: 20_000, upstreamSockets: 2 });
    links.push(link);
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => link.register({ ueServiceId: ue(i) })));
    expect(outcomes.every((o) => o.kind === 'SUCCESS')).toBe(true);
    expect(server.registry.size).toBe(50);
    expect(server.stats).toMatchObject({ requests: 50, duplicates: 0, messageIdReuses: 0, peersChecked: 2 });
  });

  it('spreads exchanges round robin over upstreamSockets distinct source ports', async () => {
    const peer = await RawCoapPeer.start();
    const link = new CoapServerLink({ uri: peer.uri, deadlineMs: 20_000, upstreamSockets: 3 });
    links.push(link);
    try {
      const pending = Array.from({ length: 6 }, (_, i) => link.deregister({ ueServiceId: ue(i) }));
      for (const p of pending) p.catch(() => undefined);
      await peer.waitFor((r) => r.length >= 6);
      const ports = peer.received.map((m) => m.from.port);
      expect(new Set(ports).size).toBe(3);
      expect(link.stats.sentPerSocket).toEqual([2, 2, 2]);
      expect(new Set(link.stats.localPorts)).toEqual(new Set(ports));
      await link.close();
      const settled = await Promise.allSettled(pending);
      expect(settled.map((x) => (x.status === 'rejected' ? (x.reason as { reason?: string }).reason : x.status))).toEqual(Array(6).fill('CLOSED'));
    } finally {
      await peer.close();
    }
  });

  it('above maxQueued an exchange resolves SERVER_UNREACHABLE at once ("budget exhausted"); one still waiting at close() rejects CLOSED', async () => {
    const link = new CoapServerLink({ uri, deadlineMs: 20_000, messageIdsPerSocket: 1, exchangeLifetimeMs: 60_000, maxQueued: 1 });
    links.push(link);
    const first = link.register({ ueServiceId: ue(1) });
    const second = link.register({ ueServiceId: ue(2) }); // waits for the one ID
    second.catch(() => undefined);
    const third = link.register({ ueServiceId: ue(3) }); // queue full
    await expect(third).resolves.toMatchObject({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: expect.stringContaining('budget exhausted') });
    await expect(first).resolves.toMatchObject({ kind: 'SUCCESS' });
    expect(link.stats).toMatchObject({ queued: 1, queueFull: 1, waiting: 1 });
    await link.close();
    // Still waiting for a Message ID at close: never sent, but the caller keeps it pending all the same.
    await expect(second).rejects.toMatchObject({ name: 'ServerLinkError', reason: 'CLOSED' });
    expect(server.stats.requests).toBe(1);
  });

  it('a queued exchange whose deadline passes resolves as a timeout without sending anything', async () => {
    const link = new CoapServerLink({ uri, deadlineMs: 300, messageIdsPerSocket: 1, exchangeLifetimeMs: 60_000 });
    links.push(link);
    await expect(link.register({ ueServiceId: ue(1) })).resolves.toMatchObject({ kind: 'SUCCESS' });
    await expect(link.register({ ueServiceId: ue(2) })).resolves.toMatchObject({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE' });
    expect(link.stats).toMatchObject({ queued: 1, waiting: 0, sentPerSocket: [1] });
    expect(server.stats.requests).toBe(1);
  });

  it.each([
    [{ upstreamSockets: 0 }],
    [{ upstreamSockets: 65 }],
    [{ upstreamSockets: 1.5 }],
    [{ maxQueued: -1 }],
    [{ messageIdsPerSocket: 0 }],
    [{ messageIdsPerSocket: 65_537 }],
    [{ exchangeLifetimeMs: 0 }],
  ])('refuses %p with ServerLinkError CONFIG', (bad) => {
    expect(() => new CoapServerLink({ uri: 'coap://127.0.0.1/msgin5g', ...bad })).toThrow(expect.objectContaining({ name: 'ServerLinkError', reason: 'CONFIG' }));
  });
});
