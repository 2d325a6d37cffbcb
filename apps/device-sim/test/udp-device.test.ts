/**
 * `UdpDevice` against a scripted UDP gateway on loopback: request/response, retransmission of the
 * same bytes, timeouts, unsolicited and duplicated responses, raw datagrams.
 */
import type { ApplicationId, DeviceRequest, RegistrationId } from '@msgin5g/core';
import { encodeM5 } from '@msgin5g/protocol';
import { formatGatewayAddress, parseGatewayAddress, UdpDevice, UdpDeviceError } from '@msgin5g/device-sim';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { hex, ScriptedGateway, toHex, type Script } from './scripted-gateway';

const REG: DeviceRequest = { kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId };
const DEREG: DeviceRequest = { kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' as RegistrationId };
const REG_OK = hex('1100a0002a21080011223344556677');
const DEREG_OK = hex('1300a0002a21080011223344556677');

const itIpv6 = itUnless(ipv6LoopbackUnavailable(), 'IPv6 tests of UdpDevice');

describe('UdpDevice', () => {
  const cleanup: Array<() => Promise<void>> = [];
  const gateway = async (host: '127.0.0.1' | '::1' = '127.0.0.1', script?: Script) => {
    const g = await ScriptedGateway.start(host, script);
    cleanup.push(() => g.close());
    return g;
  };
  const open = async (gw: string, localHost?: string) => {
    const d = await UdpDevice.open({ gateway: gw, localPort: 0, ...(localHost === undefined ? {} : { localHost }) });
    cleanup.push(() => d.close());
    return d;
  };
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('sends the M5 request and resolves with the decoded response; its Layer-2 ID is the source the gateway saw', async () => {
    const gw = await gateway('127.0.0.1', () => [REG_OK]);
    const d = await open(gw.address);
    await expect(d.request(REG, { timeoutMs: 1000, retries: 0 })).resolves.toEqual({
      kind: 'REGISTRATION_RESPONSE',
      result: 'SUCCESS',
      applicationId: 42,
      registrationId: '0011223344556677',
    });
    expect(gw.received).toHaveLength(1);
    expect(toHex(gw.received[0]!.bytes)).toBe('10002a');
    expect(d.layer2Id).toBe(`127.0.0.1:${gw.received[0]!.port}`);
  });

  it('retransmits the same bytes after each timeout, as a real device does, and takes the late answer', async () => {
    const gw = await gateway('127.0.0.1', (_r, n) => (n === 1 ? [DEREG_OK] : [])); // ignores the first copy
    const d = await open(gw.address);
    const x = await d.exchange(DEREG, { timeoutMs: 150, retries: 2 });
    expect(x.attempts).toBe(2);
    expect(toHex(x.bytes)).toBe(toHex(DEREG_OK));
    expect(gw.received.map((r) => toHex(r.bytes))).toEqual(['12080011223344556677', '12080011223344556677']);
    expect(new Set(gw.received.map((r) => r.port)).size).toBe(1); // same source port each time
  });

  it('gives up with UdpDeviceError TIMEOUT after retries + 1 attempts', async () => {
    const gw = await gateway();
    const d = await open(gw.address);
    const started = Date.now();
    const p = d.request(REG, { timeoutMs: 100, retries: 1 });
    await expect(p).rejects.toBeInstanceOf(UdpDeviceError);
    await expect(p).rejects.toMatchObject({ reason: 'TIMEOUT', details: { attempts: 2 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(gw.received.map((r) => toHex(r.bytes))).toEqual(['10002a', '10002a']);
  });

  it('reports ECONNREFUSED in a timeout when nothing listens on the gateway port', async () => {
    const gw = await gateway();
    const address = gw.address;
    await cleanup.pop()!(); // close it: the port is now closed
    const d = await open(address);
    await expect(d.request(REG, { timeoutMs: 100, retries: 1 })).rejects.toMatchObject({ reason: 'TIMEOUT', details: { lastSocketError: 'ECONNREFUSED' } });
  });

  it('skips unsolicited messages, takes the first matching response, and leaves the rest for nextMessage', async () => {
    const unrelatedStatus = hex('1f0911');
    const gw = await gateway('127.0.0.1', () => [unrelatedStatus, DEREG_OK, REG_OK, REG_OK]);
    const d = await open(gw.address);
    const x = await d.exchange(REG, { timeoutMs: 1000, retries: 0 });
    expect(toHex(x.bytes)).toBe(toHex(REG_OK));
    const rest = [await d.nextMessage(1000), await d.nextMessage(1000), await d.nextMessage(1000)];
    expect(rest.map((r) => toHex(r.bytes))).toEqual([toHex(unrelatedStatus), toHex(DEREG_OK), toHex(REG_OK)]);
    expect(rest[0]!.decoded).toEqual({ ok: true, message: { kind: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: 0x11 } });
    await expect(d.nextMessage(50)).rejects.toMatchObject({ reason: 'TIMEOUT' });
  });

  it('accepts a STATUS naming its own message type as the answer', async () => {
    const gw = await gateway('127.0.0.1', () => [hex('1f0912')]);
    const d = await open(gw.address);
    await expect(d.request(DEREG, { timeoutMs: 1000, retries: 0 })).resolves.toEqual({ kind: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: 0x12 });
  });

  it('sends raw bytes and reads undecodable answers through nextMessage', async () => {
    const gw = await gateway('127.0.0.1', (r) => (r.bytes.length === 0 ? [] : [hex('1f097e'), hex('ff')]));
    const d = await open(gw.address);
    await d.sendRaw(hex('7e00'));
    const a = await d.nextMessage(1000);
    expect(toHex(a.bytes)).toBe('1f097e');
    const b = await d.nextMessage(1000);
    expect(toHex(b.bytes)).toBe('ff');
    expect(b.decoded.ok).toBe(false);
    await d.sendRaw(new Uint8Array(0));
    await gw.until(2);
    expect(gw.received[1]!.bytes).toHaveLength(0);
  });

  it('ignores datagrams from anyone but the gateway (the socket is connected)', async () => {
    const gw = await gateway();
    const other = await gateway();
    const d = await open(gw.address);
    const port = Number(/:(\d+)$/.exec(d.layer2Id)![1]);
    await other.sendTo(REG_OK, { address: '127.0.0.1', port });
    await gw.sendTo(DEREG_OK, { address: '127.0.0.1', port });
    expect(toHex((await d.nextMessage(1000)).bytes)).toBe(toHex(DEREG_OK));
  });

  it('close() rejects a pending request with CLOSED and is idempotent; later calls reject with CLOSED', async () => {
    const gw = await gateway();
    const d = await open(gw.address);
    const p = d.request(REG, { timeoutMs: 5000, retries: 0 });
    await gw.until(1);
    await d.close();
    await d.close();
    await expect(p).rejects.toMatchObject({ reason: 'CLOSED' });
    await expect(d.sendRaw(hex('10'))).rejects.toMatchObject({ reason: 'CLOSED' });
    await expect(d.request(REG)).rejects.toMatchObject({ reason: 'CLOSED' });
  });

  it('resolves localhost to IPv4 first', async () => {
    const gw = await gateway('127.0.0.1', () => [REG_OK]);
    const d = await open(`localhost:${gw.port}`);
    expect(d.gateway).toEqual({ host: '127.0.0.1', port: gw.port });
    await expect(d.request(REG, { timeoutMs: 1000, retries: 0 })).resolves.toMatchObject({ result: 'SUCCESS' });
  });

  itIpv6('works over IPv6 with a bracketed Layer-2 ID', async () => {
    const gw = await gateway('::1', () => [REG_OK]);
    const d = await open(gw.address);
    expect(d.layer2Id).toMatch(/^\[::1\]:\d+$/);
    await expect(d.request(REG, { timeoutMs: 1000, retries: 0 })).resolves.toMatchObject({ result: 'SUCCESS' });
  });

  it('refuses bad arguments with BAD_ARGUMENT and a taken local port with BIND', async () => {
    await expect(UdpDevice.open({ gateway: 'nonsense' })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT' });
    await expect(UdpDevice.open({ gateway: '127.0.0.1:5690', localHost: 'myhost' })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT' });
    await expect(UdpDevice.open({ gateway: '127.0.0.1:5690', localHost: '::1' })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT' });
    const gw = await gateway();
    const first = await open(gw.address);
    const port = Number(/:(\d+)$/.exec(first.layer2Id)![1]);
    const second = UdpDevice.open({ gateway: gw.address, localPort: port, localHost: '127.0.0.1' });
    await expect(second).rejects.toMatchObject({ reason: 'BIND', message: expect.stringContaining(`local UDP port ${port} is in use`) });
    const d = await open(gw.address);
    await expect(d.request(REG, { timeoutMs: 0 })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT' });
    await expect(d.request(REG, { retries: -1 })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT' });
  });

  it('sends exactly what encodeM5 produces', async () => {
    const gw = await gateway('127.0.0.1', () => [DEREG_OK]);
    const d = await open(gw.address);
    await d.request(DEREG, { timeoutMs: 1000, retries: 0 });
    expect(toHex(gw.received[0]!.bytes)).toBe(toHex(encodeM5(DEREG)));
  });
});

describe('parseGatewayAddress', () => {
  it.each([
    ['127.0.0.1:5690', { host: '127.0.0.1', port: 5690 }],
    ['[::1]:5690', { host: '::1', port: 5690 }],
    ['localhost:5690', { host: 'localhost', port: 5690 }],
    ['[2001:DB8::7]:1', { host: '2001:db8::7', port: 1 }],
  ])('%s', (input, value) => {
    expect(parseGatewayAddress(input)).toEqual({ ok: true, value });
    expect(formatGatewayAddress(value)).toBe(input.toLowerCase());
  });

  it.each(['::1:5690', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', '[127.0.0.1]:5690', 'bad host:1', ':5690', ''])('refuses %j', (input) => {
    const parsed = parseGatewayAddress(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(/host:port/);
  });
});
