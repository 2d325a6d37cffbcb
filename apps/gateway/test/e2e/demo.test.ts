/**
 * `pnpm demo` (README Quick start 1) as a user runs it: the built `dist/demo/main.js` as a process.
 * Its exit code is the verdict a user sees, so these tests check it and the transcript: the message
 * phase (docs/wire-formats.md §5) prints the octets each device got or sent, and each is decoded
 * here with `@msgin5g/protocol`, so a transcript that says the right words over wrong bytes fails.
 * A server fault (`DEMO_SERVER_FAULT`) must turn the demo's verdict into exit 1. The L2 run needs
 * root (network namespaces); without it it is skipped with the reason printed.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { decodeM5, type M5Message } from '@msgin5g/protocol';
import { vethSupport } from '../../src/demo/netns';

const DEMO = resolve(__dirname, '..', '..', 'dist', 'demo', 'main.js');

function runDemo(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 150_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', rej);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

/** The transcript row `   <who> <what> … [hex]`, its octets decoded. */
function unitIn(stdout: string, who: string, what: string): M5Message {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith(who) && l.includes(what));
  if (line === undefined) throw new Error(`no "${who} … ${what}" row in the transcript:\n${stdout}`);
  const m = /\[([0-9a-f]+)\]$/.exec(line);
  if (m === null) throw new Error(`the row has no octets: ${line}`);
  const d = decodeM5(Buffer.from(m[1]!, 'hex'));
  if (!d.ok) throw new Error(`the row's octets do not decode (${d.error.message}): ${line}`);
  return d.message;
}

/** Every check of the message phase on a finished transcript. */
function expectMessagePhase(stdout: string): void {
  const response = unitIn(stdout, 'B got', 'MESSAGE SENDING RESPONSE (0x03)');
  expect(response).toMatchObject({ kind: 'MESSAGE_SENDING_RESPONSE', result: 'ACCEPTED', applicationId: 102 });
  if (response.kind !== 'MESSAGE_SENDING_RESPONSE') throw new Error('unreachable');

  const rows = stdout.split('\n');
  const received = rows.filter((l) => l.trimStart().startsWith('A got') && l.includes('MESSAGE RECEIVING (0x04)'));
  const acks = rows.filter((l) => l.trimStart().startsWith('A sent') && l.includes('MESSAGE RECEIVING ACK (0x05)'));
  expect(received).toHaveLength(2);
  expect(acks).toHaveLength(2);
  const [fromB, fromAs] = received.map((l) => unitIn(l, 'A got', '(0x04)'));
  const [ackB, ackAs] = acks.map((l) => unitIn(l, 'A sent', '(0x05)'));
  expect(fromB).toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: response.messageId, payload: new Uint8Array(Buffer.from('hello A, from B')), applicationId: 101, deliveryStatusRequired: true, originatorType: 'UE' });
  expect(ackB).toEqual({ kind: 'MESSAGE_RECEIVING_ACK', messageId: response.messageId, applicationId: 101 });

  const report = unitIn(stdout, 'B got', 'DELIVERY REPORT RECEIVING (0x06)');
  expect(report).toMatchObject({ kind: 'DELIVERY_REPORT_RECEIVING', messageId: response.messageId, deliveryStatus: 'DELIVERED', applicationId: 102 });

  expect(fromAs).toMatchObject({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'as-demo', payload: new Uint8Array(Buffer.from('hello A, from the AS')), applicationId: 101, deliveryStatusRequired: true, originatorType: 'AS' });
  if (fromAs?.kind !== 'MESSAGE_RECEIVING') throw new Error('unreachable');
  expect(ackAs).toEqual({ kind: 'MESSAGE_RECEIVING_ACK', messageId: fromAs.messageId, applicationId: 101 });
  const msgResp = rows.find((l) => l.trimStart().startsWith('AS got'));
  expect(JSON.parse(msgResp!.slice(msgResp!.indexOf('{')))).toEqual({ messageType: 'MSGRESP', msgId: fromAs.messageId, status: 'DELY_STORED' });
  const inbox = rows.find((l) => l.trimStart().startsWith('AS inbox'));
  expect(JSON.parse(inbox!.slice(inbox!.indexOf('{')))).toMatchObject({ messageType: 'IMDN', destAddr: 'as-demo', msgId: fromAs.messageId, delivSt: 'REPT_DELY_SUCCESS' });
}

describe('pnpm demo (UDP link)', () => {
  it('exits 0; the message phase shows B’s 0x03 ACCEPTED, A’s 0x04 and 0x05, B’s 0x06 DELIVERED, the AS’s MSGRESP, 0x04/0x05 and its IMDN', async () => {
    const run = await runDemo([]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expectMessagePhase(run.stdout);
    // The phases in order: messages after registration, before de-registration.
    const at = (s: string) => run.stdout.indexOf(s);
    expect(at('1. Registration')).toBeLessThan(at('2. Messages'));
    expect(at('2. Messages')).toBeLessThan(at('3. De-registration'));
    expect(run.stdout).toMatch(/Demo passed: 5 devices registered and de-registered .* B got its delivery report, and the AS's message reached A and the AS got its report/);
  });

  it('exits 1 and names the step when the server refuses the device’s message (DEMO_SERVER_FAULT)', async () => {
    const run = await runDemo([], { DEMO_SERVER_FAULT: 'fail=RECIPIENT_UNKNOWN@MSG*1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/demo FAILED: device B's message was not accepted: .*RECIPIENT_UNKNOWN/);
    expect(run.stdout).toMatch(/B got\s+MESSAGE SENDING RESPONSE \(0x03\)\s+FAILURE \(RECIPIENT_UNKNOWN\)/);
    expect(run.stdout).not.toMatch(/Demo passed/);
  });
});

const support = vethSupport();
if (!support.ok) console.log(`L2 demo test skipped: ${support.why}`);
(support.ok ? describe : describe.skip)('pnpm demo --link l2 (root: devices in a network namespace)', () => {
  it('exits 0 with the same message phase over Ethernet frames', async () => {
    const run = await runDemo(['--link', 'l2']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expectMessagePhase(run.stdout);
    expect(run.stdout).toMatch(/Demo passed: .* over the L2 link/);
  });
});
