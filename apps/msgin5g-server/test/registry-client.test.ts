import { createReferenceServer, fetchRegistry } from '@msgin5g/server';
import { coapRequest } from './clients';

describe('fetchRegistry', () => {
  it('reads the UE Service IDs the server holds', async () => {
    const server = createReferenceServer({ port: 0 });
    const target = await server.start();
    try {
      await expect(fetchRegistry(target)).resolves.toEqual([]);
      await coapRequest(target, { body: JSON.stringify({ messageType: 'REG', ueServiceId: 'ue-b' }) });
      await coapRequest(target, { body: JSON.stringify({ messageType: 'REG', ueServiceId: 'ue-a' }) });
      await expect(fetchRegistry(target)).resolves.toEqual(['ue-a', 'ue-b']);
    } finally {
      await server.stop();
    }
  });

  it('rejects when nothing answers within the timeout', async () => {
    const server = createReferenceServer({ port: 0 });
    const target = await server.start();
    await server.stop();
    await expect(fetchRegistry(target, 300)).rejects.toThrow(/within 300 ms/);
  });
});
