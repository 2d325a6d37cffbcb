/** ExchangeTable: caps refuse the new request and never evict; expiry after the lifetime, oldest first (fake timers). */
import type { ApplicationId, DeviceRequest, DeviceResponse, Layer2Id, RegistrationId } from '@msgin5g/core';
import { ExchangeTable, type Exchange } from '../src/exchange-table';

const A = '127.0.0.1:40001' as Layer2Id;
const B = '127.0.0.1:40002' as Layer2Id;
const reg = (app: number): DeviceRequest => ({ kind: 'REGISTRATION_REQUEST', applicationId: app as ApplicationId });
const dereg = (rid: string): DeviceRequest => ({ kind: 'DEREGISTRATION_REQUEST', registrationId: rid as RegistrationId });
const regOk = (app: number): DeviceResponse => ({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: 'aa' as RegistrationId, applicationId: app as ApplicationId });

describe('ExchangeTable', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const table = (over: Partial<ConstructorParameters<typeof ExchangeTable<string>>[0]> = {}) => {
    const expired: Array<Exchange<string>> = [];
    const t = new ExchangeTable<string>({ maxPerDevice: 8, maxTotal: 100, lifetimeMs: 1000, onExpire: (ex) => expired.push(ex), ...over });
    return { t, expired };
  };

  it('the ninth request of a device is refused (DEVICE) and the eight pending ones stay, each answered by its own response', () => {
    const { t } = table();
    for (let app = 1; app <= 8; app++) expect(t.admit(A, reg(app), `mid${app}`)).toMatchObject({ kind: 'ADMITTED' });
    expect(t.admit(A, reg(9), 'mid9')).toEqual({ kind: 'REFUSED', limit: 'DEVICE', pending: 8 });
    expect(t.pendingFor(A)).toBe(8);
    expect(t.admit(B, reg(9), 'other')).toMatchObject({ kind: 'ADMITTED' }); // another device is not affected
    const answered = [];
    for (let app = 1; app <= 8; app++) answered.push(...t.take(A, regOk(app)).map((ex) => ex.handle));
    expect(answered).toEqual(['mid1', 'mid2', 'mid3', 'mid4', 'mid5', 'mid6', 'mid7', 'mid8']);
    expect(t.pendingFor(A)).toBe(0);
  });

  it('the global cap counts the other load (separate responses awaiting an ACK) and refuses with TABLE', () => {
    let other = 0;
    const { t } = table({ maxTotal: 3, otherLoad: () => other });
    expect(t.admit(A, reg(1), 'a')).toMatchObject({ kind: 'ADMITTED' });
    other = 2;
    expect(t.admit(B, reg(1), 'b')).toEqual({ kind: 'REFUSED', limit: 'TABLE', pending: 3 });
    other = 1;
    expect(t.admit(B, reg(1), 'b')).toMatchObject({ kind: 'ADMITTED' });
    expect(t.size).toBe(2);
  });

  it('expires each exchange once, lifetimeMs after its admission, oldest first; a taken exchange never expires', () => {
    const { t, expired } = table({ lifetimeMs: 1000 });
    t.admit(A, reg(1), 'first');
    jest.advanceTimersByTime(300);
    t.admit(A, reg(2), 'second');
    t.admit(B, reg(3), 'taken');
    jest.advanceTimersByTime(100);
    t.admit(B, reg(4), 'third');
    expect(t.take(B, regOk(3)).map((ex) => ex.handle)).toEqual(['taken']);
    jest.advanceTimersByTime(599);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(expired.map((ex) => ex.handle)).toEqual(['first']);
    jest.advanceTimersByTime(299);
    expect(expired.map((ex) => ex.handle)).toEqual(['first']);
    jest.advanceTimersByTime(1);
    expect(expired.map((ex) => ex.handle)).toEqual(['first', 'second']);
    jest.advanceTimersByTime(100);
    expect(expired.map((ex) => ex.handle)).toEqual(['first', 'second', 'third']);
    jest.advanceTimersByTime(10_000);
    expect(expired).toHaveLength(3);
    expect(t.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a response answers its procedure: the Application ID it names, else the oldest procedure of its kind; never the other kind', () => {
    const { t } = table();
    t.admit(A, reg(1), 'reg1');
    t.admit(A, dereg('aa'), 'deregA');
    t.admit(A, reg(1), 'reg1-again');
    t.admit(A, dereg('bb'), 'deregB');
    t.admit(A, reg(2), 'reg2');
    expect(t.take(A, regOk(2)).map((ex) => ex.handle)).toEqual(['reg2']);
    expect(t.take(A, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' }).map((ex) => ex.handle)).toEqual(['reg1', 'reg1-again']);
    expect(t.take(A, { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: 'bb' as RegistrationId }).map((ex) => ex.handle)).toEqual(['deregB']);
    expect(t.take(A, { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNKNOWN_REGISTRATION_ID' }).map((ex) => ex.handle)).toEqual(['deregA']);
    expect(t.take(A, regOk(1))).toEqual([]);
    expect(t.take(B, regOk(1))).toEqual([]);
  });

  it('drain() returns every pending exchange oldest first and stops the timer', () => {
    const { t, expired } = table();
    t.admit(A, reg(1), 'a');
    t.admit(B, reg(1), 'b');
    expect(t.drain().map((ex) => ex.handle)).toEqual(['a', 'b']);
    jest.advanceTimersByTime(5000);
    expect(expired).toEqual([]);
    expect(t.size).toBe(0);
  });
});
