import { InMemoryRegistrationStore, type LinkId } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
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
});
