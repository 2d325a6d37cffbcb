import { InMemoryMessageStore, InMemoryRegistrationStore, type LinkId, type MessageId, type ServerExchangeStats, type ServerLink, type UeServiceId } from '@msgin5g/core';
import { FakeServerLink, InMemoryDeviceLink, sampleRegistration } from '@msgin5g/core/testing';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { GatewayMetrics } from '../src/gateway-metrics';

const UDP = 'udp' as LinkId;
const COAP = 'coap' as LinkId;

/** The value of one sample of a family, found by its labels; undefined when absent. */
async function sample(metrics: GatewayMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const family = parsePrometheusTextFormat(await metrics.text()).find((f) => f.name === name);
  const s = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v) && Object.keys(m.labels ?? {}).length === Object.keys(labels).length);
  if (s === undefined) return undefined;
  return Number(s.value ?? s.count);
}

describe('GatewayMetrics', () => {
  it('turns observer calls into prefixed _total counters with bounded labels', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    m.requestReceived(UDP, 'REGISTRATION_REQUEST');
    m.requestReceived(UDP, 'REGISTRATION_REQUEST');
    m.requestRefused('NOT_AUTHORISED', UDP);
    m.procedureFinished('REG', 'SUCCESS', undefined);
    m.procedureFinished('DEREG', 'FAILURE', 'SERVER_UNREACHABLE');
    m.duplicateAbsorbed(COAP, 'link');
    m.protocolError(UDP);
    m.registrationEnded('EXPIRED', UDP);
    m.registrationEnded('EXPIRED', UDP);
    m.registrationEnded('KICKED', COAP);
    await expect(sample(m, 'msgin5g_gateway_registrations_ended_total', { cause: 'EXPIRED', link: 'udp' })).resolves.toBe(2);
    await expect(sample(m, 'msgin5g_gateway_registrations_ended_total', { cause: 'KICKED', link: 'coap' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_requests_total', { link: 'udp', kind: 'REGISTRATION_REQUEST' })).resolves.toBe(2);
    await expect(sample(m, 'msgin5g_gateway_refusals_total', { failure_reason: 'NOT_AUTHORISED', link: 'udp' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_procedures_total', { operation: 'REG', outcome: 'SUCCESS', failure_reason: 'none' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_procedures_total', { operation: 'DEREG', outcome: 'FAILURE', failure_reason: 'SERVER_UNREACHABLE' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_duplicates_absorbed_total', { link: 'coap', layer: 'link' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_device_protocol_errors_total', { link: 'udp' })).resolves.toBe(1);
    const families = parsePrometheusTextFormat(await m.text());
    for (const f of families) expect(f.name).toMatch(/^msgin5g_gateway_/);
    for (const f of families.filter((x) => x.type === 'COUNTER')) expect(f.name).toMatch(/_total$/);
  });

  it('observes upstream answer times in seconds in a histogram', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    m.upstreamAnswered('REG', 0.002);
    m.upstreamAnswered('REG', 3);
    const family = parsePrometheusTextFormat(await m.text()).find((f) => f.name === 'msgin5g_gateway_upstream_answer_seconds');
    expect(family?.type).toBe('HISTOGRAM');
    // parse-prometheus-text-format 1.1.1 keeps only the buckets of a labelled histogram (no labels, count or sum): one series here.
    expect(family?.metrics).toHaveLength(1);
    const buckets = family?.metrics[0]?.buckets ?? {};
    expect(Number(buckets['0.001'])).toBe(0);
    expect(Number(buckets['0.0025'])).toBe(1);
    expect(Number(buckets['2.5'])).toBe(1);
    expect(Number(buckets['5'])).toBe(2);
    expect(Number(buckets['+Inf'])).toBe(2);
    const text = await m.text();
    expect(text).toContain('msgin5g_gateway_upstream_answer_seconds_count{operation="REG"} 2');
    expect(text).toContain('msgin5g_gateway_upstream_answer_seconds_sum{operation="REG"} 3.002');
  });

  it('reads the registrations gauge from the store at scrape time, by state and link', async () => {
    const store = new InMemoryRegistrationStore();
    const m = new GatewayMetrics({ store, processMetrics: false });
    await expect(sample(m, 'msgin5g_gateway_registrations', { state: 'REGISTERED', link: 'udp' })).resolves.toBeUndefined();
    await store.insert(sampleRegistration(1, { state: 'REGISTERED' }));
    await store.insert(sampleRegistration(2, { state: 'REGISTERED' }));
    await store.insert(sampleRegistration(3, { link: COAP }));
    await expect(sample(m, 'msgin5g_gateway_registrations', { state: 'REGISTERED', link: 'udp' })).resolves.toBe(2);
    await expect(sample(m, 'msgin5g_gateway_registrations', { state: 'REGISTERING', link: 'coap' })).resolves.toBe(1);
    await store.remove(sampleRegistration(1).registrationId);
    await store.remove(sampleRegistration(3).registrationId);
    await expect(sample(m, 'msgin5g_gateway_registrations', { state: 'REGISTERED', link: 'udp' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_registrations', { state: 'REGISTERING', link: 'coap' })).resolves.toBeUndefined(); // reset, not stale
  });

  it("includes prom-client's process metrics with the same prefix", async () => {
    const m = new GatewayMetrics();
    const names = parsePrometheusTextFormat(await m.text()).map((f) => f.name);
    expect(names).toContain('msgin5g_gateway_process_cpu_seconds_total');
    expect(names).toContain('msgin5g_gateway_nodejs_heap_size_used_bytes');
  });
  it('counts each label set apart, and a scrape reads the counts without resetting them', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    for (let i = 0; i < 5; i++) m.requestReceived(UDP, 'DEREGISTRATION_REQUEST');
    m.requestReceived(COAP, 'DEREGISTRATION_REQUEST');
    await expect(sample(m, 'msgin5g_gateway_requests_total', { link: 'udp', kind: 'DEREGISTRATION_REQUEST' })).resolves.toBe(5);
    m.requestReceived(UDP, 'DEREGISTRATION_REQUEST');
    await expect(sample(m, 'msgin5g_gateway_requests_total', { link: 'udp', kind: 'DEREGISTRATION_REQUEST' })).resolves.toBe(6);
    await expect(sample(m, 'msgin5g_gateway_requests_total', { link: 'coap', kind: 'DEREGISTRATION_REQUEST' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_requests_total', { link: 'coap', kind: 'REGISTRATION_REQUEST' })).resolves.toBeUndefined();
  });

  it('reads device-link inbound units at scrape time from links that offer stats(), by link instance', async () => {
    const udp = new InMemoryDeviceLink('udp');
    const serial = new InMemoryDeviceLink('serial');
    const noStats = { id: 'plain' as LinkId, link: { kind: 'udp', endpoint: 'x', start: async () => {}, send: async () => {}, stop: async () => {} } as unknown as InMemoryDeviceLink };
    const m = new GatewayMetrics({ processMetrics: false, links: [{ id: UDP, link: udp }, { id: 'serial-a' as LinkId, link: serial }, noStats] });
    const handler = { onRequest() {}, onProtocolError() {} };
    await udp.start(handler);
    await serial.start(handler);
    udp.deliver('127.0.0.1:1' as never, { kind: 'DEREGISTRATION_REQUEST', registrationId: '0123456789abcdef' as never });
    udp.deliverMalformed('127.0.0.1:1' as never, 'junk');
    serial.deliverMalformed('serial:/dev/x' as never, 'junk');
    await expect(sample(m, 'msgin5g_gateway_device_inbound_units_total', { link: 'udp' })).resolves.toBe(2);
    await expect(sample(m, 'msgin5g_gateway_device_inbound_units_total', { link: 'serial-a' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_device_inbound_units_total', { link: 'plain' })).resolves.toBeUndefined();
  });

  it("reads upstream exchanges (by operation, outcome, failure reason) and retransmissions from the server link's exchangeStats()", async () => {
    let stats: ServerExchangeStats = { exchanges: [], retransmissions: 0 };
    const server = Object.assign(new FakeServerLink(), { exchangeStats: () => stats }) as ServerLink;
    const m = new GatewayMetrics({ processMetrics: false, server });
    await expect(sample(m, 'msgin5g_gateway_upstream_retransmissions_total')).resolves.toBe(0);
    stats = {
      exchanges: [
        { operation: 'REG', end: 'SUCCESS', count: 7 },
        { operation: 'DEREG', end: 'SERVER_UNREACHABLE', count: 2 },
        { operation: 'DEREG', end: 'CLOSED', count: 1 },
      ],
      retransmissions: 3,
    };
    await expect(sample(m, 'msgin5g_gateway_upstream_exchanges_total', { operation: 'REG', outcome: 'SUCCESS', failure_reason: 'none' })).resolves.toBe(7);
    await expect(sample(m, 'msgin5g_gateway_upstream_exchanges_total', { operation: 'DEREG', outcome: 'FAILURE', failure_reason: 'SERVER_UNREACHABLE' })).resolves.toBe(2);
    await expect(sample(m, 'msgin5g_gateway_upstream_exchanges_total', { operation: 'DEREG', outcome: 'CLOSED', failure_reason: 'none' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_upstream_retransmissions_total')).resolves.toBe(3);
    // A server link without exchangeStats: the families are there, without samples to invent.
    const bare = new GatewayMetrics({ processMetrics: false, server: new FakeServerLink() });
    await expect(sample(bare, 'msgin5g_gateway_upstream_exchanges_total', { operation: 'REG', outcome: 'SUCCESS', failure_reason: 'none' })).resolves.toBeUndefined();
  });

  it('turns store commits into a latency histogram (seconds), a batch-size histogram (writes) and a failure counter', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    m.storeCommitted({ seconds: 0.0002, writes: 1, committed: true });
    m.storeCommitted({ seconds: 0.003, writes: 40, committed: true });
    m.storeCommitted({ seconds: 0.5, writes: 3, committed: false });
    const text = await m.text();
    expect(text).toContain('msgin5g_gateway_store_commit_seconds_count 2');
    expect(text).toContain('msgin5g_gateway_store_commit_seconds_bucket{le="0.00025"} 1');
    expect(text).toContain('msgin5g_gateway_store_commit_seconds_bucket{le="0.005"} 2');
    expect(text).toContain('msgin5g_gateway_store_commit_writes_bucket{le="1"} 1');
    expect(text).toContain('msgin5g_gateway_store_commit_writes_bucket{le="32"} 1');
    expect(text).toContain('msgin5g_gateway_store_commit_writes_bucket{le="64"} 2');
    expect(text).toContain('msgin5g_gateway_store_commit_writes_sum 41');
    await expect(sample(m, 'msgin5g_gateway_store_commit_failures_total')).resolves.toBe(1);
  });

  it('reads the store through a function when given one (the composition root builds the store after the metrics)', async () => {
    const store = new InMemoryRegistrationStore();
    const m = new GatewayMetrics({ processMetrics: false, store: () => store });
    await store.insert(sampleRegistration(1, { state: 'REGISTERED' }));
    await expect(sample(m, 'msgin5g_gateway_registrations', { state: 'REGISTERED', link: 'udp' })).resolves.toBe(1);
  });
});

describe('GatewayMetrics: messages (docs/wire-formats.md §5)', () => {
  it('counts message observer calls and reads the queue depths from the message store at scrape time', async () => {
    const messages = new InMemoryMessageStore();
    const m = new GatewayMetrics({ processMetrics: false, messages: () => messages });
    m.messageSent('ACCEPTED', UDP);
    m.messageSent('ACCEPTED', UDP);
    m.messageSent('PAYLOAD_TOO_LARGE', COAP);
    m.downlinkSent('MESSAGE', false, UDP);
    m.downlinkSent('MESSAGE', true, UDP);
    m.downlinkSent('MESSAGE', true, UDP);
    m.downlinkEnded('NOT_DELIVERED', UDP);
    m.serverDeliveryStored('MSG');
    m.serverDeliveryRefused('CONGESTION');
    m.reportForwarded('SERVER_UNREACHABLE');
    m.reportForwarded('SUCCESS');
    await expect(sample(m, 'msgin5g_gateway_messages_sent_total', { link: 'udp', outcome: 'ACCEPTED' })).resolves.toBe(2);
    await expect(sample(m, 'msgin5g_gateway_messages_sent_total', { link: 'coap', outcome: 'PAYLOAD_TOO_LARGE' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_downlink_sends_total', { link: 'udp', kind: 'MESSAGE', resend: 'true' })).resolves.toBe(2);
    await expect(sample(m, 'msgin5g_gateway_downlink_sends_total', { link: 'udp', kind: 'MESSAGE', resend: 'false' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_downlink_ended_total', { link: 'udp', end: 'NOT_DELIVERED' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_server_deliveries_total', { outcome: 'STORED', kind: 'MSG' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_server_deliveries_total', { outcome: 'CONGESTION', kind: '' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_reports_forwarded_total', { outcome: 'SERVER_UNREACHABLE' })).resolves.toBe(1);
    await expect(sample(m, 'msgin5g_gateway_downlink_queue_depth')).resolves.toBe(0);
    const recipient = sampleRegistration(1).registrationId;
    for (let n = 1; n <= 3; n++) {
      const messageId = n.toString(16).padStart(32, '0') as MessageId;
      await messages.enqueueDownlink(
        { recipient, content: { kind: 'MESSAGE', originatorAddress: 'as-demo', originatorType: 'AS', messageId, payload: new Uint8Array([n]), deliveryStatusRequired: false }, acceptedAt: 0, attempts: 0, nextAttemptAt: 0 },
        { perDevice: 10, total: 10 },
      );
    }
    await messages.addReport({ originatorAddress: 'ue-1' as UeServiceId, targetAddress: 'as-demo', messageId: '0'.repeat(32) as MessageId, deliveryStatus: 'DELIVERED', createdAt: 0, attempts: 0, nextAttemptAt: 0 });
    await expect(sample(m, 'msgin5g_gateway_downlink_queue_depth')).resolves.toBe(3);
    await expect(sample(m, 'msgin5g_gateway_report_outbox_depth')).resolves.toBe(1);
  });
});
