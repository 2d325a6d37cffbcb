import { DeviceLinkError, type DeviceLinkHandler } from '@msgin5g/core';
import { RecordingLogger } from '@msgin5g/core/testing';
import { LinkLifecycle } from '@msgin5g/link-sdk';

const handler: DeviceLinkHandler = { onRequest: () => undefined, onProtocolError: () => undefined };

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('LinkLifecycle', () => {
  const make = () => {
    const closed: string[] = [];
    const logger = new RecordingLogger();
    const life = new LinkLifecycle<string>({ name: () => 'test link', close: (r) => void closed.push(r), logger });
    return { life, closed, logger };
  };

  it('starts, exposes the resource and handler, stops once and closes once', async () => {
    const { life, closed } = make();
    await expect(life.start(handler, async () => 'sock')).resolves.toBe('sock');
    expect(life.running).toEqual({ resource: 'sock', handler });
    await life.stop();
    await life.stop();
    expect(closed).toEqual(['sock']);
    expect(life.running).toBeUndefined();
    expect(() => life.requireRunning('send a response')).toThrow(new DeviceLinkError('CLOSED', 'test link is not running; cannot send a response'));
  });

  it('refuses a second start while starting or running (BIND)', async () => {
    const { life } = make();
    const opening = deferred<string>();
    const first = life.start(handler, () => opening.promise);
    await expect(life.start(handler, async () => 'other')).rejects.toMatchObject({ reason: 'BIND', message: 'test link is already running' });
    opening.resolve('sock');
    await first;
    await expect(life.start(handler, async () => 'other')).rejects.toMatchObject({ reason: 'BIND' });
  });

  it('stop during start: start rejects CLOSED and closes what it opened', async () => {
    const { life, closed } = make();
    const opening = deferred<string>();
    const starting = life.start(handler, () => opening.promise);
    await life.stop();
    opening.resolve('late-sock');
    await expect(starting).rejects.toMatchObject({ reason: 'CLOSED', message: 'test link was stopped while starting' });
    expect(closed).toEqual(['late-sock']);
    expect(life.running).toBeUndefined();
  });

  it('a failed open leaves the link startable again', async () => {
    const { life } = make();
    await expect(life.start(handler, async () => Promise.reject(new DeviceLinkError('BIND', 'EADDRINUSE')))).rejects.toMatchObject({ reason: 'BIND' });
    await expect(life.start(handler, async () => 'sock')).resolves.toBe('sock');
  });

  it('guards a throwing handler and delivers nothing after stop', async () => {
    const { life, logger } = make();
    await life.start(handler, async () => 'sock');
    expect(
      life.deliver(() => {
        throw new Error('boom');
      }),
    ).toBe(true);
    expect(logger.lines.some((l) => l.level === 'error' && /handler threw/.test(l.message))).toBe(true);
    await life.stop();
    let called = false;
    expect(life.deliver(() => (called = true))).toBe(false);
    expect(called).toBe(false);
  });
});
