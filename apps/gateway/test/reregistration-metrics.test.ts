/**
 * The counters of a re-registration after the server forgot the gateway (docs/adr/0012), on the
 * GatewayMetrics observer: present at 0 from the start, so `rate()` works on a gateway that never
 * lived through one.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { GatewayMetrics } from '../src/gateway-metrics';

async function samples(m: GatewayMetrics, name: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const family = parsePrometheusTextFormat(await m.text()).find((f) => f.name === name);
  return (family?.metrics ?? []).map((s) => ({ labels: s.labels ?? {}, value: Number(s.value) }));
}

describe('GatewayMetrics: re-registration after the server forgot the gateway', () => {
  it('counts re-registrations and resynced devices by outcome', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    await expect(samples(m, 'msgin5g_gateway_reregistrations_total')).resolves.toEqual([{ labels: {}, value: 0 }]);
    m.gatewayReregistered(5, 1);
    m.gatewayReregistered(3, 0);
    await expect(samples(m, 'msgin5g_gateway_reregistrations_total')).resolves.toEqual([{ labels: {}, value: 2 }]);
    const resynced = await samples(m, 'msgin5g_gateway_resynced_devices_total');
    expect(resynced.find((s) => s.labels.outcome === 'SUCCESS')?.value).toBe(8);
    expect(resynced.find((s) => s.labels.outcome === 'FAILURE')?.value).toBe(1);
  });
});
