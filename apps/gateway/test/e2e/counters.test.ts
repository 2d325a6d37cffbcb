/**
 * Each counter counts what its name says (issue 11): a known run of CoAP devices, with
 * retransmissions (copies with the same Message ID, hand-built with the CoAP codec of
 * `@msgin5g/protocol`), through the real CoAP device link, core, SQLite store and CoAP server link,
 * against the reference MSGin5G Server. The `stopped` log line's counters and the Prometheus
 * counters must both match the run: the issue saw `duplicatesAbsorbed: 0` after a run where the
 * CoAP link had absorbed duplicates.
 *
 * First in process (composition root, so the Prometheus text can be read without the admin
 * listener), then the same run against real gateway and server processes, read from the gateway's
 * `stopped` line after SIGTERM.
 */
import 'reflect-metadata';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingLogger } from '@msgin5g/core/testing';
import { COAP_CODE, COAP_CONTENT_FORMAT_JSON, COAP_OPTION, encodeCoapMessage, parseCoapMessage, uintOptionValue } from '@msgin5g/protocol';
import { createReferenceServer } from '@msgin5g/server';
import '@msgin5g/test-support/close-coap-global-agents';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { createContainer, GatewayRuntime, loadConfig, TOKENS, type GatewayMetrics } from '../../src';
import { freeUdpPorts, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';

/** A CON POST to `msgin5g` with a JSON body, as a CoAP device sends it (RFC 7252 §3). */
function conPost(messageId: number, token: number, body: object): Buffer {
  return Buffer.from(
    encodeCoapMessage({
      type: 'CON',
      code: COAP_CODE.POST,
      messageId,
      token: Uint8Array.of(token),
      options: [
        { number: COAP_OPTION.URI_PATH, value: new TextEncoder().encode('msgin5g') },
        { number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) },
      ],
      payload: new TextEncoder().encode(JSON.stringify(body)),
    }),
  );
}

/**
 * A CoAP device on its own loopback socket that keeps every datagram it receives and, as RFC 7252
 * §4.2 asks, acknowledges every CON (a separate response) with an empty ACK, counting those ACKs.
 */
class RawCoapDevice {
  readonly inbox: Buffer[] = [];
  /** Empty ACKs sent (each is one more inbound unit at the gateway's link). */
  acksSent = 0;
  private constructor(private readonly socket: Socket) {
    socket.on('message', (m, from) => {
      this.inbox.push(m);
      const parsed = parseCoapMessage(new Uint8Array(m));
      if (parsed.kind === 'MESSAGE' && parsed.message.type === 'CON') {
        this.acksSent += 1;
        this.socket.send(Buffer.from(encodeCoapMessage({ type: 'ACK', code: COAP_CODE.EMPTY, messageId: parsed.message.messageId })), from.port, from.address);
      }
    });
  }
  static async open(): Promise<RawCoapDevice> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    return new RawCoapDevice(s);
  }
  send(bytes: Buffer, port: number): void {
    this.socket.send(bytes, port, '127.0.0.1');
  }
  /**
   * The JSON body of the first 2.04 answer carrying `token` (piggybacked in an ACK, or a separate
   * CON after an empty ACK: copies that arrive while the request is pending make the link
   * acknowledge at once, RFC 7252 §5.2.2); rejects after `timeoutMs`.
   */
  async answer(token: number, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
      for (const d of this.inbox) {
        const parsed = parseCoapMessage(new Uint8Array(d));
        if (parsed.kind === 'MESSAGE' && parsed.message.code === COAP_CODE.CHANGED && parsed.message.token.length === 1 && parsed.message.token[0] === token) {
          return JSON.parse(new TextDecoder().decode(parsed.message.payload)) as Record<string, unknown>;
        }
      }
    }
    throw new Error(`no 2.04 with token ${token} within ${timeoutMs} ms; received: ${this.inbox.map((d) => d.toString('hex')).join(' ') || 'nothing'}`);
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

const REG_MID = 0x1234;
const DEREG_MID = 0x1235;
/** Copies of each request: the REG three times, the DE-REG twice (same Message ID: one original, the rest retransmissions). */
const REG_COPIES = 3;
const DEREG_COPIES = 2;

/**
 * The known run: a REG sent REG_COPIES times back to back, then, once answered, a DE-REG
 * DEREG_COPIES times. Resolves the Registration ID.
 */
async function knownRun(device: RawCoapDevice, port: number, onRegistered?: () => Promise<void>): Promise<string> {
  const reg = conPost(REG_MID, 0x01, { messageType: 'REG', appId: '42' });
  for (let i = 0; i < REG_COPIES; i++) device.send(reg, port);
  const regAnswer = await device.answer(0x01);
  expect(regAnswer).toMatchObject({ messageType: 'REG', result: 'SUCCESS', appId: '42' });
  const registrationId = String(regAnswer.registrationId);
  await onRegistered?.();
  const dereg = conPost(DEREG_MID, 0x02, { messageType: 'DEREG', registrationId });
  for (let i = 0; i < DEREG_COPIES; i++) device.send(dereg, port);
  expect(await device.answer(0x02)).toMatchObject({ messageType: 'DEREG', result: 'SUCCESS', registrationId });
  // Copies that arrive after the answer are absorbed too (the answer replayed): let every copy land.
  await new Promise((r) => setTimeout(r, 300));
  return registrationId;
}

/** One sample of a family by its exact labels (histograms: `_count` as value), or undefined. */
function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  const s = family?.metrics.find((m) => Object.keys(m.labels ?? {}).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return s === undefined ? undefined : Number(s.value ?? s.count);
}

describe('every counter counts what its name says: CoAP retransmissions through the real links', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-counters-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('in process: the stopped line and the Prometheus counters agree with a known run (duplicates, requests, inbound units, procedures, exchanges, store commits)', async () => {
    const server = createReferenceServer({ host: '127.0.0.1', port: 0 });
    const target = await server.start();
    const config = loadConfig(
      {
        authorization: 'open',
        store: `sqlite:${join(dir, 'in-process.db')}`,
        udp: false,
        coapDeviceHost: '127.0.0.1',
        coapDevicePort: '0',
        server: `coap://127.0.0.1:${target.port}/msgin5g`,
        ueServiceId: 'gw-counters',
        deadlineMs: '5000',
      } as never,
      {},
    );
    const logger = new RecordingLogger();
    const container = createContainer(config, logger);
    const runtime = container.get(GatewayRuntime);
    const metrics = container.get<GatewayMetrics>(TOKENS.Metrics);
    const device = await RawCoapDevice.open();
    try {
      await runtime.start();
      await runtime.ready;
      const port = Number(/:(\d+)\//.exec(runtime.endpoints[0]!)![1]);
      let whileRegistered = '';
      await knownRun(device, port, async () => {
        whileRegistered = await metrics.text();
      });
      expect(sampleOf(whileRegistered, 'msgin5g_gateway_registrations', { state: 'REGISTERED', link: 'coap' })).toBe(1);

      const text = await metrics.text();
      const duplicates = REG_COPIES - 1 + (DEREG_COPIES - 1);
      expect(sampleOf(text, 'msgin5g_gateway_duplicates_absorbed_total', { link: 'coap', layer: 'link' })).toBe(duplicates);
      expect(sampleOf(text, 'msgin5g_gateway_duplicates_absorbed_total', { link: 'coap', layer: 'procedure' })).toBeUndefined();
      expect(sampleOf(text, 'msgin5g_gateway_requests_total', { link: 'coap', kind: 'REGISTRATION_REQUEST' })).toBe(1);
      expect(sampleOf(text, 'msgin5g_gateway_requests_total', { link: 'coap', kind: 'DEREGISTRATION_REQUEST' })).toBe(1);
      // Every copy, and the device's empty ACKs of separate responses.
      expect(sampleOf(text, 'msgin5g_gateway_device_inbound_units_total', { link: 'coap' })).toBe(REG_COPIES + DEREG_COPIES + device.acksSent);
      expect(sampleOf(text, 'msgin5g_gateway_procedures_total', { operation: 'REG', outcome: 'SUCCESS', failure_reason: 'none' })).toBe(1);
      expect(sampleOf(text, 'msgin5g_gateway_procedures_total', { operation: 'DEREG', outcome: 'SUCCESS', failure_reason: 'none' })).toBe(1);
      // The gateway's own REG and the device's: two REG exchanges; one DEREG (the device's).
      expect(sampleOf(text, 'msgin5g_gateway_upstream_exchanges_total', { operation: 'REG', outcome: 'SUCCESS', failure_reason: 'none' })).toBe(2);
      expect(sampleOf(text, 'msgin5g_gateway_upstream_exchanges_total', { operation: 'DEREG', outcome: 'SUCCESS', failure_reason: 'none' })).toBe(1);
      expect(sampleOf(text, 'msgin5g_gateway_upstream_retransmissions_total')).toBe(0);
      expect(sampleOf(text, 'msgin5g_gateway_refusals_total', { failure_reason: 'CONGESTION', link: 'coap' })).toBeUndefined();
      expect(sampleOf(text, 'msgin5g_gateway_device_protocol_errors_total', { link: 'coap' })).toBeUndefined();
      // REG: insert + REGISTERED; DEREG: DEREGISTERING + remove with tombstone + the end of the
      // device's downlink queue (empty here; docs/wire-formats.md §5.3). Five writes, in one or more commits.
      expect(text).toContain('msgin5g_gateway_store_commit_writes_sum 5');
      expect(sampleOf(text, 'msgin5g_gateway_store_commit_failures_total')).toBe(0);
      expect(text).toMatch(/msgin5g_gateway_store_commit_seconds_count [1-4]\n/);
      expect(text).toContain('msgin5g_gateway_upstream_answer_seconds_count{operation="REG"} 1');
      expect(sampleOf(text, 'msgin5g_gateway_registrations', { state: 'REGISTERED', link: 'coap' })).toBeUndefined();

      await runtime.stop('test');
      const stopped = logger.lines.find((l) => l.message === 'stopped');
      expect(stopped?.level).toBe('info');
      expect(stopped?.fields.counters).toMatchObject({ requests: 2, duplicatesAbsorbed: duplicates, registered: 1, deregistered: 1, upstreamPosts: 2, protocolErrors: 0 });
    } finally {
      await runtime.stop('test');
      await device.close();
      await server.stop();
    }
  });

  describe('real processes', () => {
    const procs: JsonLineProcess[] = [];
    afterEach(async () => {
      for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
    });

    it("the gateway's stopped line after SIGTERM counts the CoAP duplicates its link absorbed", async () => {
      const server = await startServer();
      procs.push(server.proc);
      const [coapPort] = await freeUdpPorts(1);
      const gw = await startGateway([
        '--server',
        `coap://127.0.0.1:${server.port}/msgin5g`,
        '--no-udp',
        '--coap-device-host',
        '127.0.0.1',
        '--coap-device-port',
        String(coapPort),
        '--store',
        `sqlite:${join(dir, 'process.db')}`,
        '--authorization',
        'open',
      ]);
      procs.push(gw.proc);
      const device = await RawCoapDevice.open();
      try {
        await knownRun(device, coapPort!);
      } finally {
        await device.close();
      }
      expect(await gw.proc.stop('SIGTERM')).toBe(0);
      const stopped = gw.proc.lines.find((l) => l.msg === 'stopped');
      expect(stopped?.counters).toMatchObject({ requests: 2, duplicatesAbsorbed: REG_COPIES - 1 + (DEREG_COPIES - 1), registered: 1, deregistered: 1 });
      // At info, as shipped: no per-procedure success line (counted instead); lifecycle lines stay.
      expect(gw.proc.lines.some((l) => l.msg === 'device registered' || l.msg === 'device de-registered; mapping removed')).toBe(false);
      expect(gw.proc.lines.some((l) => l.msg === 'gateway ready')).toBe(true);
    });
  });
});
