/** Life cycle and configuration of `CoapServerLink` (the contract suite covers the exchanges). */
import { ServerLinkError, type UeServiceId } from '@msgin5g/core';
import { createReferenceServer } from '@msgin5g/server';
import { CoapServerLink, DEFAULT_SERVER_DEADLINE_MS } from '@msgin5g/coap-server-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { RawCoapPeer } from './raw-coap-peer';

const gw = 'gw-1' as UeServiceId;

const itIpv6 = itUnless(ipv6LoopbackUnavailable(), 'IPv6 test of CoapServerLink');

describe('CoapServerLink', () => {
  it('defaults the deadline to 30 s and names its endpoint', async () => {
    expect(DEFAULT_SERVER_DEADLINE_MS).toBe(30_000);
    const link = new CoapServerLink({ uri: 'coap://127.0.0.1/msgin5g' });
    expect(link.endpoint).toBe('coap://127.0.0.1:5683/msgin5g');
    await link.close();
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])('refuses deadlineMs %p with ServerLinkError CONFIG', (deadlineMs) => {
    expect(() => new CoapServerLink({ uri: 'coap://127.0.0.1/msgin5g', deadlineMs })).toThrow(expect.objectContaining({ name: 'ServerLinkError', reason: 'CONFIG' }));
  });

  it('refuses a bad URI with ServerLinkError CONFIG, before opening any socket', () => {
    expect(() => new CoapServerLink({ uri: 'coaps://127.0.0.1/msgin5g' })).toThrow(ServerLinkError);
  });

  it('close() ends a pending exchange with CLOSED (its outcome is unknown, not a failure), is idempotent, and later calls reject CLOSED', async () => {
    const peer = await RawCoapPeer.start(); // never answers
    const link = new CoapServerLink({ uri: peer.uri, deadlineMs: 10_000 });
    try {
      const pending = link.register({ ueServiceId: gw });
      pending.catch(() => undefined);
      await peer.waitFor((r) => r.length > 0);
      const started = Date.now();
      await Promise.all([link.close(), link.close()]);
      await expect(pending).rejects.toMatchObject({ name: 'ServerLinkError', reason: 'CLOSED', message: expect.stringContaining('unknown') });
      expect(Date.now() - started).toBeLessThan(500);
      await expect(link.deregister({ ueServiceId: gw })).rejects.toMatchObject({ name: 'ServerLinkError', reason: 'CLOSED' });
    } finally {
      await link.close();
      await peer.close();
    }
  });

  it('close() while exchanges sit in their late window releases them at once', async () => {
    const peer = await RawCoapPeer.start();
    const link = new CoapServerLink({ uri: peer.uri, deadlineMs: 100, lateWindowMs: 60_000 });
    try {
      const outcomes = await Promise.all(Array.from({ length: 5 }, (_, i) => link.register({ ueServiceId: `${gw}/d${i}` as UeServiceId })));
      expect(outcomes.every((o) => o.kind === 'FAILURE' && o.reason === 'SERVER_UNREACHABLE')).toBe(true);
    } finally {
      await link.close(); // Jest would report the 60 s timers otherwise (and not exit)
      await peer.close();
    }
  });

  itIpv6('works over IPv6: coap://[::1]:port/msgin5g', async () => {
    const server = createReferenceServer({ host: '::1', port: 0 });
    const { port } = await server.start();
    const link = new CoapServerLink({ uri: `coap://[::1]:${port}/msgin5g`, deadlineMs: 1500 });
    try {
      await expect(link.register({ ueServiceId: gw })).resolves.toEqual({ kind: 'SUCCESS' });
      expect(server.registry.has(gw)).toBe(true);
      await expect(link.deregister({ ueServiceId: gw })).resolves.toEqual({ kind: 'SUCCESS' });
      expect(server.registry.has(gw)).toBe(false);
    } finally {
      await link.close();
      await server.stop();
    }
  });
});
