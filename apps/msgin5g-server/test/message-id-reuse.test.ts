/** Check mode of the reference server: (peer, Message ID) reuse within EXCHANGE_LIFETIME (RFC 7252 §4.4). */
import { createReferenceServer, type ReferenceServer } from '@msgin5g/server';
import { msgin5gPost, RawClient } from './clients';

const reg = (ue: string): string => JSON.stringify({ messageType: 'REG', ueServiceId: ue });

describe('reference server --check-mid-reuse', () => {
  let server: ReferenceServer | undefined;
  const clients: RawClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.stop();
  });

  async function start(checkMessageIdReuse: boolean): Promise<{ host: string; port: number }> {
    server = createReferenceServer({ host: '127.0.0.1', port: 0, checkMessageIdReuse });
    return server.start();
  }

  it('counts a new request (new token) on a Message ID the same peer used within 247 s, not a retransmission', async () => {
    const target = await start(true);
    const a = await RawClient.open(target);
    const b = await RawClient.open(target);
    clients.push(a, b);
    a.send(msgin5gPost(7, Buffer.from('01', 'hex'), reg('x')));
    await a.waitForCount(1);
    a.send(msgin5gPost(7, Buffer.from('01', 'hex'), reg('x'))); // retransmission: same token
    await a.waitForCount(2);
    b.send(msgin5gPost(7, Buffer.from('02', 'hex'), reg('y'))); // another peer: its own ID space
    await b.waitForCount(1);
    expect(server!.stats).toMatchObject({ messageIdReuses: 0, peersChecked: 2 });
    a.send(msgin5gPost(7, Buffer.from('03', 'hex'), reg('z'))); // reuse
    await a.waitForCount(3);
    expect(server!.stats.messageIdReuses).toBe(1);
  });

  it('counts nothing when the check is off', async () => {
    const target = await start(false);
    const a = await RawClient.open(target);
    clients.push(a);
    a.send(msgin5gPost(9, Buffer.from('01', 'hex'), reg('x')));
    await a.waitForCount(1);
    a.send(msgin5gPost(9, Buffer.from('02', 'hex'), reg('y')));
    await a.waitForCount(2);
    expect(server!.stats).toMatchObject({ messageIdReuses: 0, peersChecked: 0 });
  });
});
