/**
 * The `device` CLI as other tools drive it: the built `dist/main.js` spawned with `node`, against a
 * scripted UDP gateway on an ephemeral loopback port. One JSON line on stdout; exit 0/1/2.
 */
import * as dgram from 'node:dgram';
import { join } from 'node:path';
import { describeCliBasics, runProcess, type RunResult } from '@msgin5g/test-support';
import { hex, ScriptedGateway, toHex, type Script } from './scripted-gateway';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

/** Runs the built CLI to its exit (SIGKILL after 15 s). */
const device = (args: string[]): Promise<RunResult> => runProcess(process.execPath, [MAIN, ...args], { timeoutMs: 15_000 });

/** The single JSON line a run printed (fails the test if there is not exactly one line). */
function jsonLine(run: RunResult): Record<string, unknown> {
  const lines = run.stdout.split('\n').filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  expect(run.stdout.endsWith('\n')).toBe(true);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

/** A UDP port that was free a moment ago (for a stable --local-port across two runs). */
async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('device CLI (dist/main.js)', () => {
  let gw: ScriptedGateway;
  const answer = (bytesForType: Record<number, string>): Script => (r) => {
    const a = bytesForType[r.bytes[0] ?? -1];
    return a === undefined ? [] : [hex(a)];
  };
  beforeEach(async () => {
    gw = await ScriptedGateway.start('127.0.0.1');
  });
  afterEach(async () => {
    await gw.close();
  });

  it('register: prints one JSON line with the decoded REGISTRATION RESPONSE and exits 0 on SUCCESS', async () => {
    gw.setScript(answer({ 0x10: '1100a0002a21080011223344556677' }));
    const run = await device(['register', '--gateway', gw.address, '--app-id', '42', '--local-port', '0']);
    expect(run.code).toBe(0);
    expect(toHex(gw.received[0]!.bytes)).toBe('10002a');
    expect(jsonLine(run)).toEqual({
      type: 'REGISTRATION_RESPONSE',
      result: 'SUCCESS',
      applicationId: 42,
      registrationId: '0011223344556677',
      layer2Id: `127.0.0.1:${gw.received[0]!.port}`,
      hex: '1100a0002a21080011223344556677',
    });
    // Member order is part of the contract.
    expect(Object.keys(jsonLine(run))).toEqual(['type', 'result', 'applicationId', 'registrationId', 'layer2Id', 'hex']);
  });

  it('register --lifetime-s: asks for a lifetime (IE 0x24) and prints the lifetime granted as lifetimeS', async () => {
    gw.setScript(answer({ 0x10: '1100a0002a21080011223344556677240400000078' }));
    const run = await device(['register', '--gateway', gw.address, '--app-id', '42', '--lifetime-s', '600', '--local-port', '0']);
    expect(run.code).toBe(0);
    expect(toHex(gw.received[0]!.bytes)).toBe('10002a240400000258');
    expect(jsonLine(run)).toMatchObject({ result: 'SUCCESS', registrationId: '0011223344556677', lifetimeS: 120 });
    expect(Object.keys(jsonLine(run))).toEqual(['type', 'result', 'applicationId', 'registrationId', 'lifetimeS', 'layer2Id', 'hex']);
    const bad = await device(['register', '--gateway', gw.address, '--app-id', '42', '--lifetime-s', '0', '--local-port', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--lifetime-s must be an integer 1\.\.4294967295/);
  });

  it('register then deregister from the same --local-port reach the gateway from the same source address', async () => {
    gw.setScript(answer({ 0x10: '1100a0002a21080011223344556677', 0x12: '1300a0002a21080011223344556677' }));
    const port = await freePort();
    const reg = await device(['register', '--gateway', gw.address, '--app-id', '42', '--local-port', String(port)]);
    const rid = jsonLine(reg)['registrationId'] as string;
    const dereg = await device(['deregister', '--gateway', gw.address, '--registration-id', rid, '--local-port', String(port)]);
    expect([reg.code, dereg.code]).toEqual([0, 0]);
    expect(gw.received.map((r) => `${r.address}:${r.port}`)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
    expect(toHex(gw.received[1]!.bytes)).toBe('12080011223344556677');
    expect(jsonLine(dereg)).toMatchObject({ type: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, layer2Id: `127.0.0.1:${port}` });
  });

  it('deregister: a FAILURE response prints its Failure reason and exits 1', async () => {
    gw.setScript(answer({ 0x12: '1301a0002a220104' }));
    const run = await device(['deregister', '--gateway', gw.address, '--registration-id', '0011223344556677', '--local-port', '0']);
    expect(run.code).toBe(1);
    expect(jsonLine(run)).toEqual({
      type: 'DEREGISTRATION_RESPONSE',
      result: 'FAILURE',
      applicationId: 42,
      failureReason: 'SERVER_UNREACHABLE',
      layer2Id: `127.0.0.1:${gw.received[0]!.port}`,
      hex: '1301a0002a220104',
    });
  });

  it('CONGESTION and GATEWAY_NOT_REGISTERED mean "later": the device waits --timeout-ms and asks again, then reports the definitive answer', async () => {
    // CONGESTION (0x07), then GATEWAY_NOT_REGISTERED (0x06), then SUCCESS.
    const answers = ['1101a0002a220107', '1101a0002a220106', '1100a0002a21080011223344556677'];
    gw.setScript((_r, n) => [hex(answers[Math.min(n, 2)]!)]);
    const run = await device(['register', '--gateway', gw.address, '--app-id', '42', '--local-port', '0', '--timeout-ms', '100', '--retries', '3']);
    expect(run.code).toBe(0);
    expect(gw.received).toHaveLength(3);
    expect(jsonLine(run)).toMatchObject({ result: 'SUCCESS', registrationId: '0011223344556677' });
    expect(run.stderr).toMatch(/answered CONGESTION; asking again/);
    expect(run.stderr).toMatch(/answered GATEWAY_NOT_REGISTERED; asking again/);
  });

  it('a CONGESTION that outlasts --retries is reported as the answer (exit 1); other failures are never asked again', async () => {
    gw.setScript(() => [hex('1101a0002a220107')]);
    const busy = await device(['register', '--gateway', gw.address, '--app-id', '42', '--local-port', '0', '--timeout-ms', '50', '--retries', '2']);
    expect(busy.code).toBe(1);
    expect(jsonLine(busy)).toMatchObject({ result: 'FAILURE', failureReason: 'CONGESTION' });
    expect(gw.received).toHaveLength(3);
    gw.setScript(() => [hex('1101a0002a220102')]);
    const refused = await device(['register', '--gateway', gw.address, '--app-id', '42', '--local-port', '0', '--timeout-ms', '50', '--retries', '2']);
    expect(jsonLine(refused)).toMatchObject({ failureReason: 'NOT_AUTHORISED' });
    expect(gw.received).toHaveLength(4);
  });

  it('a STATUS answer prints {"type":"STATUS",…} and exits 1', async () => {
    gw.setScript(answer({ 0x10: '1f0910' }));
    const run = await device(['register', '--gateway', gw.address, '--app-id', '7', '--local-port', '0']);
    expect(run.code).toBe(1);
    expect(jsonLine(run)).toMatchObject({ type: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: 16, hex: '1f0910' });
  });

  it('no answer: resends the same bytes --retries times, prints {"error":"TIMEOUT",…} and exits 2', async () => {
    const run = await device(['register', '--gateway', gw.address, '--app-id', '42', '--local-port', '0', '--timeout-ms', '100', '--retries', '2']);
    expect(run.code).toBe(2);
    expect(jsonLine(run)).toMatchObject({ error: 'TIMEOUT', gateway: gw.address, attempts: 3, timeoutMs: 100 });
    expect(gw.received.map((r) => toHex(r.bytes))).toEqual(['10002a', '10002a', '10002a']);
    expect(run.stderr).toMatch(/no answer from/);
  });

  it('a local port in use: prints {"error":"BIND",…}, a message on stderr, and exits 2', async () => {
    const busy = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', () => resolve()));
    try {
      const port = busy.address().port;
      const run = await device(['register', '--gateway', gw.address, '--app-id', '42', '--local-host', '127.0.0.1', '--local-port', String(port)]);
      expect(run.code).toBe(2);
      expect(jsonLine(run)).toMatchObject({ error: 'BIND', gateway: gw.address });
      expect(run.stderr).toContain(`local UDP port ${port} is in use`);
      expect(gw.received).toHaveLength(0);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  it.each([
    ['no --gateway', ['register', '--app-id', '42'], /--gateway/],
    ['no --app-id', ['register', '--gateway', '127.0.0.1:5690'], /--app-id/],
    ['an Application ID out of range', ['register', '--gateway', '127.0.0.1:5690', '--app-id', '70000'], /Application ID/],
    ['a bad Registration ID', ['deregister', '--gateway', '127.0.0.1:5690', '--registration-id', 'xyz'], /Registration ID/],
    ['a bad gateway', ['register', '--gateway', '::1:5690', '--app-id', '1'], /host:port/],
    ['a bad --local-port', ['register', '--gateway', '127.0.0.1:5690', '--app-id', '1', '--local-port', '70000'], /--local-port/],
    ['a bad --timeout-ms', ['register', '--gateway', '127.0.0.1:5690', '--app-id', '1', '--timeout-ms', 'soon'], /--timeout-ms/],
    ['a bad --local-host', ['register', '--gateway', '127.0.0.1:5690', '--app-id', '1', '--local-host', 'me'], /--local-host/],
    ['an unknown command', ['frobnicate'], /unknown command/],
    ['no command', [], /Usage/],
  ])('bad arguments (%s): message on stderr, nothing on stdout, exit 2', async (_what, args, message) => {
    const run = await device(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });

  it('--help documents the stable source port and exits 0', async () => {
    const run = await device(['register', '--help']);
    expect(run.code).toBe(0);
    const text = run.stdout.replace(/\s+/g, ' ');
    expect(text).toContain('a device is known by its source address; use the same --local-port for register, deregister, send and listen');
    expect(text).toContain('(default: 5691)');
  });
});

describeCliBasics('device CLI', MAIN, join(__dirname, '..'));
