/**
 * Several device link instances, also of one kind (docs/architecture.md §4): a request is tagged with
 * the instance it came in on, the registration records that instance, and every answer (also after
 * a restart) leaves through it.
 */
import { GatewayProcedures, must, parseLinkId, silentLogger, type ApplicationId, type Layer2Id, type LinkId } from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryDeviceLink, InMemoryRegistrationStore, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';
import { APP, GW } from './fixtures';

const DEV = '127.0.0.1:40001' as Layer2Id;
const UDP = must(parseLinkId('udp'));
const UDP2 = must(parseLinkId('udp-2'));
const SERIAL = must(parseLinkId('serial'));

function gateway(store: InMemoryRegistrationStore, server: FakeServerLink) {
  const links = { [UDP]: new InMemoryDeviceLink('udp'), [UDP2]: new InMemoryDeviceLink('udp'), [SERIAL]: new InMemoryDeviceLink('serial') } as Record<LinkId, InMemoryDeviceLink>;
  const gw = new GatewayProcedures(
    {
      store,
      server,
      links: Object.entries(links).map(([id, link]) => ({ id: id as LinkId, link })),
      clock: new FakeClock(),
      allocator: new SequenceRegistrationIdAllocator(),
      authorizer: { authorize: () => ({ allowed: true }) },
      logger: silentLogger,
    },
    { gatewayUeServiceId: GW },
  );
  return { gw, links };
}

async function started(store = new InMemoryRegistrationStore(), server = new FakeServerLink()) {
  const g = gateway(store, server);
  for (const [id, link] of Object.entries(g.links)) await link.start(g.gw.handlerFor(id as LinkId));
  await g.gw.registerGateway();
  return g;
}

describe('device link instances', () => {
  it('answers through the instance the request came in on, and records it', async () => {
    const store = new InMemoryRegistrationStore();
    const { links } = await started(store);
    links[UDP2].deliver(DEV, { kind: 'REGISTRATION_REQUEST', applicationId: APP });
    const r = await links[UDP2].nextResponse(DEV);
    expect(r).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS' });
    expect(links[UDP].sent).toHaveLength(0);
    const [rec] = await store.list();
    expect(rec?.link).toBe('udp-2');
  });

  it('keeps the same Layer-2 ID on two instances of one kind apart', async () => {
    const { links } = await started();
    links[UDP].deliver(DEV, { kind: 'REGISTRATION_REQUEST', applicationId: APP });
    links[UDP2].deliver(DEV, { kind: 'REGISTRATION_REQUEST', applicationId: 43 as ApplicationId });
    const a = await links[UDP].nextResponse(DEV);
    const b = await links[UDP2].nextResponse(DEV);
    expect(a).toMatchObject({ result: 'SUCCESS', applicationId: APP });
    expect(b).toMatchObject({ result: 'SUCCESS', applicationId: 43 });
    if (a.kind !== 'REGISTRATION_RESPONSE' || a.result !== 'SUCCESS') throw new Error('unreachable');
    // A de-registration of A's ID from the same Layer-2 ID on the other instance is someone else's.
    links[UDP2].deliver(DEV, { kind: 'DEREGISTRATION_REQUEST', registrationId: a.registrationId });
    await expect(links[UDP2].nextResponse(DEV)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'NOT_AUTHORISED' });
  });

  it('tags protocol errors with the instance id', async () => {
    const store = new InMemoryRegistrationStore();
    const g = gateway(store, new FakeServerLink());
    const handler = g.gw.handlerFor(SERIAL);
    const seen: string[] = [];
    const spy = jest.spyOn(g.gw, 'onProtocolError').mockImplementation((e) => void seen.push(e.link));
    handler.onProtocolError({ link: 'serial', detail: 'noise', answered: false, octets: 3 });
    expect(seen).toEqual(['serial']);
    g.gw.handlerFor(UDP2).onProtocolError({ link: 'udp', detail: 'x', answered: false, octets: 1 });
    expect(seen).toEqual(['serial', 'udp-2']);
    spy.mockRestore();
  });

  it('after a restart, finishes a pending procedure through the recorded instance', async () => {
    const store = new InMemoryRegistrationStore();
    const server = new FakeServerLink();
    const first = await started(store, server);
    server.hold();
    first.links[UDP2].deliver(DEV, { kind: 'REGISTRATION_REQUEST', applicationId: APP });
    for (let i = 0; i < 100 && server.pending === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(server.pending).toBe(1);
    // The gateway stops with the REG in flight (outcome unknown): the record stays REGISTERING.
    await server.close();
    await first.gw.whenIdle();
    expect((await store.list())[0]?.state).toBe('REGISTERING');
    const second = await started(store, new FakeServerLink());
    await expect(second.gw.recover()).resolves.toBe(1);
    await expect(second.links[UDP2].nextResponse(DEV)).resolves.toMatchObject({ result: 'SUCCESS' });
    expect(second.links[UDP].sent).toHaveLength(0);
    expect(second.links[SERIAL].sent).toHaveLength(0);
  });

  it('refuses two instances with one id, and a handler for an unknown id', () => {
    const link = new InMemoryDeviceLink('udp');
    const deps = { store: new InMemoryRegistrationStore(), server: new FakeServerLink(), clock: new FakeClock(), allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true as const }) }, logger: silentLogger };
    expect(() => new GatewayProcedures({ ...deps, links: [link, { id: UDP, link: new InMemoryDeviceLink('udp') }] }, { gatewayUeServiceId: GW })).toThrow(/two device links share the id "udp"/);
    const gw = new GatewayProcedures({ ...deps, links: [link] }, { gatewayUeServiceId: GW });
    expect(() => gw.handlerFor(UDP2)).toThrow(/no device link instance "udp-2"/);
  });
});
