/**
 * Interop with a third-party CoAP client: libcoap's `coap-client-notls` (Debian `libcoap3-bin`)
 * registers and de-registers a device through the CoAP device link, wired to the real
 * `GatewayProcedures` (with `FakeServerLink` upstream and the in-memory store). `-v 7` makes the
 * client print every message it sends and receives (`v:1 t:ACK c:2.04 i:… {token} [options] :: 'payload'`),
 * so the test checks the codes and message types on the wire, not only the payload.
 *
 * Skipped, with the reason printed, when the binary is missing (CI installs libcoap3-bin).
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { GatewayProcedures, silentLogger, type UeServiceId } from '@msgin5g/core';
import { FakeServerLink, InMemoryRegistrationStore, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';
import { CoapDeviceLink } from '@msgin5g/coap-device-link';
import { runChecked, type RunResult } from '@msgin5g/test-support';
import { endpointPort } from './recorder';

const CLIENT = 'coap-client-notls';
const missing = spawnSync('sh', ['-c', `command -v ${CLIENT}`]).status === 0 ? undefined : `${CLIENT} is not installed (Debian package libcoap3-bin)`;
const describeLibcoap = missing === undefined ? describe : describe.skip;
// process.stderr, not console: Jest drops the console output of a fully skipped suite when several suites run.
if (missing !== undefined) process.stderr.write(`libcoap interop tests skipped: ${missing}\n`);

/** One message as `coap-client -v 7` prints it. */
interface Logged {
  readonly type: string;
  readonly code: string;
  readonly messageId: string;
  readonly options: string;
  readonly payload: string | undefined;
}

const LINE = /^v:1 t:(CON|NON|ACK|RST) c:(\S+) i:([0-9a-f]+) \{([0-9a-f]*)\} \[(.*?)\](?: :: '(.*)')?$/;

function messagesOf(output: string): Logged[] {
  const out: Logged[] = [];
  for (const line of output.split('\n')) {
    const m = LINE.exec(line.trim());
    if (m !== null) out.push({ type: m[1] as string, code: m[2] as string, messageId: m[3] as string, options: (m[5] as string).trim(), payload: m[6] });
  }
  return out;
}

/** A free UDP port on 127.0.0.1, so the client's source (its Layer-2 ID) is the same for REG and DEREG. */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Runs coap-client to a clean exit (rejects otherwise, with its output); bounded by 20 s. */
const coapClient = (args: string[]): Promise<RunResult> => runChecked(CLIENT, args, { timeoutMs: 20_000 });

describeLibcoap(`libcoap coap-client-notls against CoapDeviceLink${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let link: CoapDeviceLink;
  let server: FakeServerLink;
  let store: InMemoryRegistrationStore;
  let uri: string;

  beforeEach(async () => {
    link = new CoapDeviceLink({ host: '127.0.0.1', port: 0 });
    server = new FakeServerLink();
    store = new InMemoryRegistrationStore();
    const gw = new GatewayProcedures(
      {
        store,
        server,
        links: [link],
        clock: { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) },
        allocator: new SequenceRegistrationIdAllocator(),
        authorizer: { authorize: () => ({ allowed: true }) },
        logger: silentLogger,
      },
      { gatewayUeServiceId: 'gw-1' as UeServiceId },
    );
    await link.start(gw);
    await gw.registerGateway();
    uri = `coap://127.0.0.1:${endpointPort(link.endpoint)}/msgin5g`;
  });
  afterEach(async () => {
    await link.stop();
    await server.close();
  });

  it('registers (piggybacked 2.04, JSON result) and de-registers with the Registration ID it got', async () => {
    const port = String(await freePort());
    const reg = await coapClient(['-v', '7', '-a', '127.0.0.1', '-p', port, '-B', '10', '-m', 'post', '-t', '50', '-e', '{"messageType":"REG","appId":"42"}', uri]);
    const regAnswer = messagesOf(reg.stdout).find((m) => m.type === 'ACK');
    expect(regAnswer).toMatchObject({ code: '2.04', options: 'Content-Format:application/json' });
    const regBody = JSON.parse(regAnswer?.payload ?? 'null') as Record<string, string>;
    // The lifetime granted (s), here the default of GatewayProcedures (docs/wire-formats.md §3.3).
    expect(regBody).toEqual({ messageType: 'REG', result: 'SUCCESS', appId: '42', registrationId: expect.stringMatching(/^[0-9a-f]{16}$/), lifetime: 86_400 });
    const registrationId = regBody['registrationId'] as string;
    expect(server.registry.has(`gw-1/127.0.0.1:${port}/42` as UeServiceId)).toBe(true);
    await expect(store.get(registrationId as never)).resolves.toMatchObject({ state: 'REGISTERED', layer2Id: `127.0.0.1:${port}`, link: 'coap' });

    const dereg = await coapClient(['-v', '7', '-a', '127.0.0.1', '-p', port, '-B', '10', '-m', 'post', '-t', '50', '-e', `{"messageType":"DEREG","registrationId":"${registrationId}"}`, uri]);
    const deregAnswer = messagesOf(dereg.stdout).find((m) => m.type === 'ACK');
    expect(deregAnswer?.code).toBe('2.04');
    expect(JSON.parse(deregAnswer?.payload ?? 'null')).toEqual({ messageType: 'DEREG', result: 'SUCCESS', appId: '42', registrationId });
    expect(server.calls.map((c) => c.operation)).toEqual(['REG', 'REG', 'DEREG']); // the gateway's own REG first
    await expect(store.get(registrationId as never)).resolves.toBeUndefined();
  });

  it('gets an empty ACK then a separate CON 2.04, and ACKs it, when the server is slow', async () => {
    server.hold();
    const release = setTimeout(() => server.release(), 1500);
    try {
      const out = await coapClient(['-v', '7', '-B', '10', '-m', 'post', '-t', 'application/json', '-e', '{"messageType":"REG","appId":"7"}', uri]);
      const seen = messagesOf(out.stdout).map((m) => `${m.type} ${m.code}`);
      expect(seen).toEqual(['CON POST', 'ACK 0.00', 'CON 2.04', 'ACK 0.00']);
      const separate = messagesOf(out.stdout)[2];
      expect(JSON.parse(separate?.payload ?? 'null')).toMatchObject({ messageType: 'REG', result: 'SUCCESS', appId: '7' });
    } finally {
      clearTimeout(release);
    }
  });

  it('a NON request (-N) gets a NON 2.04', async () => {
    const out = await coapClient(['-v', '7', '-B', '5', '-N', '-m', 'post', '-t', '50', '-e', '{"messageType":"REG","appId":"9"}', uri]);
    const answer = messagesOf(out.stdout).find((m) => m.code === '2.04');
    expect(answer?.type).toBe('NON');
    expect(JSON.parse(answer?.payload ?? 'null')).toMatchObject({ result: 'SUCCESS', appId: '9' });
  });

  it('a wrong Content-Format gets 4.15, a bad body 4.00 with a JSON diagnostic, an unknown critical option 4.02', async () => {
    const wrongFormat = await coapClient(['-v', '7', '-B', '5', '-m', 'post', '-t', '0', '-e', '{"messageType":"REG","appId":"42"}', uri]);
    expect(messagesOf(wrongFormat.stdout).find((m) => m.type === 'ACK')?.code).toBe('4.15');
    const badBody = await coapClient(['-v', '7', '-B', '5', '-m', 'post', '-t', '50', '-e', '{"messageType":"REG"}', uri]);
    const bad = messagesOf(badBody.stdout).find((m) => m.type === 'ACK');
    expect(bad).toMatchObject({ code: '4.00', options: 'Content-Format:application/json' });
    expect(JSON.parse(bad?.payload ?? 'null')).toEqual({ error: 'member "appId" is missing' });
    const badOption = await coapClient(['-v', '7', '-B', '5', '-m', 'post', '-t', '50', '-O', '25,x', '-e', '{"messageType":"REG","appId":"42"}', uri]);
    expect(messagesOf(badOption.stdout).find((m) => m.type === 'ACK')?.code).toBe('4.02');
    expect(server.calls.filter((c) => c.request.gatewayUeServiceId !== undefined)).toHaveLength(0);
  });
});
