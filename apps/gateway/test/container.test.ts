import 'reflect-metadata';
import { silentLogger } from '@msgin5g/core';
import { UdpDevice } from '@msgin5g/device-sim';
import { createContainer, GatewayMetrics, GatewayRuntime, loadConfig, TOKENS } from '@msgin5g/gateway';
import { createReferenceServer } from '@msgin5g/server';
import '@msgin5g/test-support/close-coap-global-agents';

describe('composition root (inversify)', () => {
  it('wires config → adapters → procedures, and a device registers and de-registers in process', async () => {
    const server = createReferenceServer({ port: 0 });
    const target = await server.start();
    const config = loadConfig(
      { authorization: 'open', store: 'memory', udpHost: '127.0.0.1', udpPort: '0', server: `coap://127.0.0.1:${target.port}/msgin5g`, ueServiceId: 'gw-di', deadlineMs: '2000' },
      {},
    );
    const container = createContainer(config, silentLogger);
    const runtime = container.get(GatewayRuntime);
    expect(container.get(GatewayRuntime)).toBe(runtime); // singletons
    expect(container.get(TOKENS.GatewayProcedures)).toBe(runtime.procedures);
    try {
      await runtime.start();
      await runtime.ready;
      expect(server.registry.has('gw-di')).toBe(true);
      const port = Number(/:(\d+)$/.exec(runtime.endpoints[0]!)![1]);
      const device = await UdpDevice.open({ gateway: `127.0.0.1:${port}` });
      try {
        const reg = await device.request({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as never }, { timeoutMs: 2000, retries: 0 });
        expect(reg).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42 });
        const rid = (reg as { registrationId: string }).registrationId;
        const dereg = await device.request({ kind: 'DEREGISTRATION_REQUEST', registrationId: rid as never }, { timeoutMs: 2000, retries: 0 });
        expect(dereg).toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42, registrationId: rid });
        // The procedures report to the bound GatewayMetrics (the observer seam is wired).
        const text = await container.get<GatewayMetrics>(TOKENS.Metrics).text();
        expect(text).toContain('msgin5g_gateway_procedures_total{operation="REG",outcome="SUCCESS",failure_reason="none"} 1');
        expect(text).toContain('msgin5g_gateway_procedures_total{operation="DEREG",outcome="SUCCESS",failure_reason="none"} 1');
      } finally {
        await device.close();
      }
    } finally {
      await runtime.stop('test');
      await server.stop();
    }
    expect(server.registry.size).toBe(0);
  });
});
