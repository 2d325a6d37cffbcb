/** The `GatewayObserver` seam: what `GatewayProcedures` reports, with bounded values only, and the counters it keeps beside it. */
import {
  GatewayProcedures,
  type ApplicationId,
  type DeviceAuthorizer,
  type DeviceRequest,
  type DuplicateLayer,
  type FailureReason,
  type GatewayDeregistrationCause,
  type GatewayObserver,
  type Layer2Id,
  type LinkId,
  type RegistrationId,
  type UeServiceId,
  type UpstreamOperation,
} from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryDeviceLink, InMemoryRegistrationStore, RecordingLogger, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';

const A = '127.0.0.1:40001' as Layer2Id;
const B = '127.0.0.1:40002' as Layer2Id;
const DENIED = '127.0.0.1:40003' as Layer2Id;
const UDP = 'udp' as LinkId;

class RecordingObserver implements GatewayObserver {
  readonly events: unknown[][] = [];
  requestReceived(link: LinkId, kind: DeviceRequest['kind']): void {
    this.events.push(['received', link, kind]);
  }
  requestRefused(reason: FailureReason, link: LinkId): void {
    this.events.push(['refused', reason, link]);
  }
  procedureFinished(operation: UpstreamOperation, outcome: 'SUCCESS' | 'FAILURE', reason: FailureReason | undefined, link: LinkId): void {
    this.events.push(['finished', operation, outcome, reason, link]);
  }
  duplicateAbsorbed(link: LinkId, layer: DuplicateLayer): void {
    this.events.push(['duplicate', link, layer]);
  }
  protocolError(link: LinkId): void {
    this.events.push(['protocolError', link]);
  }
  upstreamAnswered(operation: UpstreamOperation, seconds: number): void {
    this.events.push(['upstream', operation, seconds]);
  }
  registrationEnded(cause: GatewayDeregistrationCause, link: LinkId): void {
    this.events.push(['ended', cause, link]);
  }
  of(kind: string): unknown[][] {
    return this.events.filter((e) => e[0] === kind);
  }
}

async function world(observer: GatewayObserver, logger = new RecordingLogger()) {
  const store = new InMemoryRegistrationStore();
  const server = new FakeServerLink();
  const clock = new FakeClock();
  const link = new InMemoryDeviceLink('udp');
  const authorizer: DeviceAuthorizer = { authorize: (_l, layer2Id) => ({ allowed: layer2Id !== DENIED }) };
  const gw = new GatewayProcedures(
    { store, server, links: [{ id: UDP, link }], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer, logger, observer },
    { gatewayUeServiceId: 'gw-1' as UeServiceId },
  );
  await link.start(gw.handlerFor(UDP));
  await gw.registerGateway();
  return { store, server, clock, link, gw, logger };
}

const reg = (applicationId: number) => ({ kind: 'REGISTRATION_REQUEST' as const, applicationId: applicationId as ApplicationId });
const dereg = (registrationId: RegistrationId) => ({ kind: 'DEREGISTRATION_REQUEST' as const, registrationId });

describe('GatewayObserver', () => {
  it('is told of requests, refusals (authorizer and state machine), finished procedures, duplicates and protocol errors; the counters agree', async () => {
    const o = new RecordingObserver();
    const w = await world(o);

    // A registers; a copy arrives while the REG is pending upstream (absorbed by the core).
    w.server.hold();
    w.link.deliver(A, reg(42));
    await new Promise((r) => setTimeout(r, 20));
    w.link.deliver(A, reg(42));
    await new Promise((r) => setTimeout(r, 20));
    w.clock.advance(250); // the upstream answer takes 250 ms on the fake clock
    w.server.release();
    const ok = await w.link.nextResponse(A);
    if (ok.result !== 'SUCCESS') throw new Error('REG failed');
    await w.gw.whenIdle();

    w.link.deliver(DENIED, reg(7)); // NOT_AUTHORISED by the authorization list
    await w.link.nextResponse(DENIED);
    w.link.deliver(B, dereg(ok.registrationId)); // NOT_AUTHORISED: not the owner (state machine)
    await w.link.nextResponse(B);
    w.link.deliver(B, dereg('00000000000000ff' as RegistrationId)); // UNKNOWN_REGISTRATION_ID
    await w.link.nextResponse(B);

    w.server.answerNext({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'test' });
    w.link.deliver(A, dereg(ok.registrationId)); // DEREG fails upstream
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'SERVER_UNREACHABLE' });
    w.link.deliver(A, dereg(ok.registrationId)); // and succeeds on the retry
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    await w.gw.whenIdle();

    w.gw.handlerFor(UDP).onProtocolError({ link: 'udp', from: A, detail: 'bad', answered: true, octets: 1 });
    w.gw.handlerFor(UDP).onDuplicateAbsorbed?.(A); // a copy absorbed by a link's message layer

    expect(o.of('received')).toEqual([
      ['received', 'udp', 'REGISTRATION_REQUEST'],
      ['received', 'udp', 'REGISTRATION_REQUEST'],
      ['received', 'udp', 'REGISTRATION_REQUEST'],
      ['received', 'udp', 'DEREGISTRATION_REQUEST'],
      ['received', 'udp', 'DEREGISTRATION_REQUEST'],
      ['received', 'udp', 'DEREGISTRATION_REQUEST'],
      ['received', 'udp', 'DEREGISTRATION_REQUEST'],
    ]);
    expect(o.of('refused')).toEqual([
      ['refused', 'NOT_AUTHORISED', 'udp'],
      ['refused', 'NOT_AUTHORISED', 'udp'],
      ['refused', 'UNKNOWN_REGISTRATION_ID', 'udp'],
    ]);
    expect(o.of('finished')).toEqual([
      ['finished', 'REG', 'SUCCESS', undefined, 'udp'],
      ['finished', 'DEREG', 'FAILURE', 'SERVER_UNREACHABLE', 'udp'],
      ['finished', 'DEREG', 'SUCCESS', undefined, 'udp'],
    ]);
    expect(o.of('duplicate')).toEqual([
      ['duplicate', 'udp', 'procedure'],
      ['duplicate', 'udp', 'link'],
    ]);
    expect(o.of('protocolError')).toEqual([['protocolError', 'udp']]);
    expect(o.of('upstream').map((e) => e[1])).toEqual(['REG', 'DEREG', 'DEREG']);
    expect(o.of('upstream')[0]?.[2]).toBe(0.25);

    expect(w.gw.counters).toMatchObject({ requests: 7, notAuthorised: 2, duplicatesAbsorbed: 2, protocolErrors: 1, registered: 1, deregistered: 1, failed: 1 });
    // No event carries a Registration ID, an Application ID or a Layer-2 ID.
    const values = JSON.stringify(o.events);
    expect(values).not.toContain(ok.registrationId);
    expect(values).not.toContain('127.0.0.1');
    expect(values).not.toMatch(/\b42\b/);
  });

  it('an observer that throws does not break a procedure; it is logged once', async () => {
    const throwing: GatewayObserver = new Proxy({} as GatewayObserver, {
      get: () => () => {
        throw new Error('boom');
      },
    });
    const w = await world(throwing);
    w.link.deliver(A, reg(42));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    w.link.deliver(A, reg(43));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    expect(w.logger.lines.filter((e) => e.message.startsWith('gateway observer threw'))).toHaveLength(1);
  });
});
