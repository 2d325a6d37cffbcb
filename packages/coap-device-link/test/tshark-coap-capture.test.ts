/**
 * Wireshark's view of our CoAP traffic: tshark captures loopback while CoAP devices (npm coap's
 * Agent, and libcoap's coap-client-notls when installed) talk to the CoAP device link — piggybacked,
 * separate and NON answers, 4.xx answers — and while `CoapServerLink` talks to the reference MSGin5G
 * Server (piggybacked and separate answers). The capture is then dissected with
 * `-d udp.port==P,coap` (our ports are ephemeral, not 5683), and the test fails on any malformed
 * packet or any expert info of severity warning or error.
 *
 * Needs tshark (Debian package `tshark`) and the right to capture on `lo` (root, as on CI); skipped
 * with the reason printed otherwise. The capture is bounded (`-a duration:60`) and always killed in
 * teardown.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationId, DeviceLinkHandler, RegistrationId, UeServiceId } from '@msgin5g/core';
import { encodeCoapDeviceRequest } from '@msgin5g/protocol';
import { CoapServerLink } from '@msgin5g/coap-server-link';
import { createReferenceServer, type ReferenceServer } from '@msgin5g/server';
import { CoapDeviceLink } from '@msgin5g/coap-device-link';
import { LineProcess, runChecked } from '@msgin5g/test-support';
import '@msgin5g/test-support/close-coap-global-agents';
import { CoapAgentDevice } from './coap-agent-device';
import { endpointPort, sleep } from './recorder';

function unavailable(): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v tshark']).status !== 0) return 'tshark is not installed (Debian package tshark)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'capturing on lo needs root (CI runs as root)';
  return undefined;
}
const why = unavailable();
const describeTshark = why === undefined ? describe : describe.skip;
// process.stderr, not console: Jest drops the console output of a fully skipped suite when several suites run.
if (why !== undefined) process.stderr.write(`tshark capture of CoAP traffic skipped: ${why}\n`);
const hasLibcoap = spawnSync('sh', ['-c', 'command -v coap-client-notls']).status === 0;

/** Runs a tool to a clean exit (rejects otherwise, with its stderr); resolves its stdout. */
const run = async (file: string, args: string[]): Promise<string> => (await runChecked(file, args, { timeoutMs: 60_000 })).stdout;

/** Starts `tshark -i lo` on the given UDP ports; resolves once it reports capturing, plus a second to settle. */
async function startCapture(ports: number[], file: string): Promise<LineProcess> {
  const filter = ports.map((p) => `udp port ${p}`).join(' or ');
  const tshark = LineProcess.start('tshark', ['-i', 'lo', '-f', filter, '-a', 'duration:60', '-q', '-w', file], { name: 'tshark' });
  try {
    await tshark.waitForLine((l) => l.includes('Capturing on'), { stream: 'stderr', timeoutMs: 15_000, what: '"Capturing on"' });
  } catch (err) {
    await tshark.stop('SIGKILL');
    throw err;
  }
  await sleep(1000);
  return tshark;
}

/** Stops a capture with SIGINT (tshark then writes out the file) and waits for it; SIGKILL after 10 s. */
const stopCapture = (tshark: LineProcess) => tshark.stop('SIGINT', 10_000);

describeTshark(`tshark: our CoAP traffic dissects cleanly${why === undefined ? '' : ` (skipped: ${why})`}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-tshark-'));
  const pcap = join(dir, 'coap.pcapng');
  let capture: LineProcess | undefined;
  let link: CoapDeviceLink | undefined;
  let reference: ReferenceServer | undefined;
  let serverLink: CoapServerLink | undefined;
  const devices: CoapAgentDevice[] = [];

  afterAll(async () => {
    for (const d of devices) await d.close();
    await serverLink?.close();
    await reference?.stop();
    await link?.stop();
    if (capture !== undefined) await stopCapture(capture);
    rmSync(dir, { recursive: true, force: true });
  });

  it('has no malformed packet and no expert warning in the device link and MSGin5G-1 exchanges', async () => {
    let slow = false;
    const deviceLink = new CoapDeviceLink({ host: '127.0.0.1', port: 0 });
    link = deviceLink;
    const handler: DeviceLinkHandler = {
      onRequest: (request, from) => {
        const respond = () =>
          void deviceLink.send(
            from,
            request.kind === 'REGISTRATION_REQUEST'
              ? { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0011223344556677' as RegistrationId, applicationId: request.applicationId }
              : { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNKNOWN_REGISTRATION_ID' },
          );
        if (slow) setTimeout(respond, 1300);
        else respond();
      },
      onProtocolError: () => undefined,
    };
    await deviceLink.start(handler);
    const devicePort = endpointPort(deviceLink.endpoint);
    reference = createReferenceServer({ host: '127.0.0.1', port: 0, faults: ['separate=1200@DEREG*1'] });
    const { port: serverPort } = await reference.start();
    serverLink = new CoapServerLink({ uri: `coap://127.0.0.1:${serverPort}/msgin5g`, deadlineMs: 10_000 });

    capture = await startCapture([devicePort, serverPort], pcap);

    // CoAP device link: piggybacked, NON, separate, and error answers, from npm coap's Agent.
    const d = await CoapAgentDevice.open('127.0.0.1', { host: '127.0.0.1', port: devicePort });
    devices.push(d);
    const reg = encodeCoapDeviceRequest({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId });
    await expect(d.post(reg)).resolves.toMatchObject({ code: '2.04' });
    await expect(d.post(encodeCoapDeviceRequest({ kind: 'DEREGISTRATION_REQUEST', registrationId: '0a0b' as RegistrationId }), { confirmable: false })).resolves.toMatchObject({ code: '2.04' });
    await expect(d.post(reg, { contentFormat: 0 })).resolves.toMatchObject({ code: '4.15' });
    await expect(d.post(Buffer.from('{"messageType":"REG"}'))).resolves.toMatchObject({ code: '4.00' });
    await expect(d.post(reg, { pathname: '/other' })).resolves.toMatchObject({ code: '4.04' });
    slow = true;
    await expect(d.post(reg)).resolves.toMatchObject({ code: '2.04' });
    slow = false;
    if (hasLibcoap) {
      await run('coap-client-notls', ['-B', '5', '-m', 'post', '-t', '50', '-e', '{"messageType":"REG","appId":"43"}', `coap://127.0.0.1:${devicePort}/msgin5g`]);
    }

    // MSGin5G-1: CoapServerLink to the reference server, a piggybacked REG and a separate DEREG.
    const ue = { ueServiceId: 'gw-1/127.0.0.1:40000/42' as UeServiceId, gatewayUeServiceId: 'gw-1' as UeServiceId, applicationId: 42 as ApplicationId };
    await expect(serverLink.register({ ueServiceId: ue.gatewayUeServiceId })).resolves.toMatchObject({ kind: 'SUCCESS' });
    await expect(serverLink.register(ue)).resolves.toMatchObject({ kind: 'SUCCESS' });
    await expect(serverLink.deregister(ue)).resolves.toMatchObject({ kind: 'SUCCESS' });

    await sleep(500);
    await stopCapture(capture);
    expect(statSync(pcap).size).toBeGreaterThan(0);

    const decodeAs = ['-d', `udp.port==${devicePort},coap`, '-d', `udp.port==${serverPort},coap`];
    const fields = ['-T', 'fields', '-E', 'separator=|', '-e', 'frame.number', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'coap.type', '-e', 'coap.code', '-e', '_ws.col.Info'];
    const all = (await run('tshark', ['-n', '-r', pcap, ...decodeAs, ...fields])).trim().split('\n').filter((l) => l.length > 0);
    // The capture holds what was sent: at least 12 device-link and 6 server-link messages, all dissected as CoAP.
    const coapOnly = (await run('tshark', ['-n', '-r', pcap, ...decodeAs, '-Y', 'coap', ...fields])).trim().split('\n').filter((l) => l.length > 0);
    expect(all.length).toBeGreaterThanOrEqual(18);
    expect(coapOnly).toHaveLength(all.length);
    const codes = new Set(coapOnly.map((l) => l.split('|')[4]));
    for (const code of ['2', '68', '143', '128', '132', '0']) expect({ code, seen: codes.has(code) }).toEqual({ code, seen: true }); // POST, 2.04, 4.15, 4.00, 4.04, empty

    const bad = (await run('tshark', ['-n', '-r', pcap, ...decodeAs, '-Y', '_ws.malformed || _ws.expert.severity >= warning', ...fields])).trim();
    expect(bad).toBe('');
    const expert = await run('tshark', ['-n', '-q', '-r', pcap, ...decodeAs, '-z', 'expert,warn']);
    expect(expert).not.toMatch(/\b(Warns|Errors) \(\d+\)/);
  });
});
