/// <reference types="jest" />
/**
 * Contract suite of the `ServerLink` port, run against the CoAP adapter (with the reference MSGin5G
 * Server) and against `FakeServerLink`. The harness scripts how the server answers next.
 */
import type { ApplicationId, UeServiceId } from '../ids';
import { ServerLinkError, type ServerLink } from '../ports/server-link';

/** How the server side answers the next request. */
export type ScriptedAnswer =
  | { readonly kind: 'NORMAL' }
  | { readonly kind: 'FAILURE'; readonly failureCause: string }
  | { readonly kind: 'SILENT' };

export interface ServerLinkHarness {
  readonly link: ServerLink;
  /** Deadline the link was built with, ms; the SILENT case must end within it (+1 s). */
  readonly deadlineMs: number;
  /** Makes the server answer the next request this way (then back to NORMAL). */
  script(answer: ScriptedAnswer): void;
  /** Makes the server leave the next request unanswered for longer than the test runs. */
  stall(): void;
  /** Whether the server's registry holds this UE Service ID. */
  isRegistered(ueServiceId: UeServiceId): Promise<boolean>;
  teardown(): Promise<void>;
}

const gw = 'gw-contract' as UeServiceId;
const dev = 'gw-contract/127.0.0.1:40001/42' as UeServiceId;
const app = 42 as ApplicationId;

export function serverLinkContract(name: string, createHarness: () => Promise<ServerLinkHarness>): void {
  describe(`ServerLink contract: ${name}`, () => {
    let h: ServerLinkHarness;
    beforeEach(async () => {
      h = await createHarness();
    });
    afterEach(async () => {
      await h.link.close();
      await h.teardown();
    });

    it('registers the gateway itself and a device on its behalf', async () => {
      await expect(h.link.register({ ueServiceId: gw })).resolves.toMatchObject({ kind: 'SUCCESS' });
      await expect(h.link.register({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: app })).resolves.toMatchObject({ kind: 'SUCCESS' });
      await expect(h.isRegistered(gw)).resolves.toBe(true);
      await expect(h.isRegistered(dev)).resolves.toBe(true);
    });

    it('de-registers a registered device (seed CR: CoAP POST, 2.04 success)', async () => {
      await h.link.register({ ueServiceId: gw });
      await h.link.register({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: app });
      await expect(h.link.deregister({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: app })).resolves.toMatchObject({ kind: 'SUCCESS' });
      await expect(h.isRegistered(dev)).resolves.toBe(false);
    });

    it('reads FAILURE NOT_REGISTERED to a DEREG as success (the end state holds)', async () => {
      await h.link.register({ ueServiceId: gw });
      await expect(h.link.deregister({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: app })).resolves.toMatchObject({ kind: 'SUCCESS' });
    });

    it('reads any other failure cause as SERVER_REJECTED and keeps the cause text', async () => {
      h.script({ kind: 'FAILURE', failureCause: 'QUOTA_EXCEEDED' });
      const out = await h.link.register({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: app });
      expect(out).toMatchObject({ kind: 'FAILURE', reason: 'SERVER_REJECTED' });
      expect(out.kind === 'FAILURE' && out.cause).toContain('QUOTA_EXCEEDED');
    });

    it('ends a silent exchange with SERVER_UNREACHABLE within its deadline', async () => {
      h.script({ kind: 'SILENT' });
      const started = Date.now();
      const out = await h.link.deregister({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: app });
      expect(out).toMatchObject({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE' });
      expect(Date.now() - started).toBeLessThan(h.deadlineMs + 1000);
    });

    it('reads FAILURE GATEWAY_NOT_REGISTERED (a request for a gateway the server does not know) as GATEWAY_NOT_REGISTERED, not SERVER_REJECTED', async () => {
      for (const call of [h.link.register.bind(h.link), h.link.deregister.bind(h.link)]) {
        const out = await call({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: app });
        expect(out).toMatchObject({ kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED' });
      }
      await expect(h.isRegistered(dev)).resolves.toBe(false);
    });

    it('runs 50 concurrent exchanges and answers each', async () => {
      await h.link.register({ ueServiceId: gw });
      const outs = await Promise.all(
        Array.from({ length: 50 }, (_, i) => h.link.register({ ueServiceId: `${gw}/d${i}` as UeServiceId, gatewayUeServiceId: gw, applicationId: i as ApplicationId })),
      );
      expect(outs.every((o) => o.kind === 'SUCCESS')).toBe(true);
      await expect(h.isRegistered(`${gw}/d49` as UeServiceId)).resolves.toBe(true);
    });

    it('rejects an exchange still pending at close() with CLOSED, never with an outcome (it is unknown)', async () => {
      h.stall();
      const p = h.link.register({ ueServiceId: gw });
      p.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await h.link.close();
      await expect(p).rejects.toMatchObject({ name: 'ServerLinkError', reason: 'CLOSED' });
    });

    it('exchangeStats(), an optional part of the port, counts each ended exchange by operation and end', async () => {
      const stats = h.link.exchangeStats?.bind(h.link);
      if (stats === undefined) {
        // Optional (ports/server-link.ts): a link without it has no upstream exchange metrics.
        console.info(`ServerLink contract ${name}: exchangeStats() not offered`);
        expect(h.link.exchangeStats).toBeUndefined();
        return;
      }
      const count = (operation: 'REG' | 'DEREG', end: string) => stats().exchanges.find((e) => e.operation === operation && e.end === end)?.count ?? 0;
      const regs = count('REG', 'SUCCESS');
      const rejected = count('DEREG', 'SERVER_REJECTED');
      await h.link.register({ ueServiceId: gw });
      h.script({ kind: 'FAILURE', failureCause: 'QUOTA_EXCEEDED' });
      await h.link.deregister({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: app });
      expect(count('REG', 'SUCCESS')).toBe(regs + 1);
      expect(count('DEREG', 'SERVER_REJECTED')).toBe(rejected + 1);
      expect(stats().retransmissions).toBeGreaterThanOrEqual(0);
    });

    it('rejects calls after close() with ServerLinkError CLOSED', async () => {
      await h.link.close();
      const p = h.link.register({ ueServiceId: gw });
      await expect(p).rejects.toBeInstanceOf(ServerLinkError);
      await expect(p).rejects.toMatchObject({ reason: 'CLOSED' });
    });
  });
}
