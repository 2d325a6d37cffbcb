/**
 * Interop with a third-party CoAP client: libcoap's `coap-client-notls` (Debian `libcoap3-bin`)
 * POSTs a `MSG` body to the gateway's `CoapServerInbox`, as an MSGin5G Server would
 * (docs/adr/0013), and gets 2.04 with the `MSGRESP`. `-v 7` makes the client print every message
 * (`v:1 t:ACK c:2.04 i:… {token} [options] :: 'payload'`), so the message type and code on the
 * wire are checked, not only the payload. Skipped, with the reason printed, when the binary is missing.
 */
import { spawnSync } from 'node:child_process';
import type { MessageId, ServerDelivery, ServerDeliveryVerdict } from '@msgin5g/core';
import { CoapServerInbox } from '@msgin5g/coap-server-link';
import { itUnless, runChecked } from '@msgin5g/test-support';

const CLIENT = 'coap-client-notls';
const missing = spawnSync('sh', ['-c', `command -v ${CLIENT}`]).status === 0 ? undefined : `${CLIENT} is not installed (Debian package libcoap3-bin)`;
const itWithLibcoap = itUnless(missing, 'libcoap interop tests of CoapServerInbox');
const MID = '0f0e0d0c0b0a09080706050403020100' as MessageId;
const LINE = /^v:1 t:(CON|NON|ACK|RST) c:(\S+) i:([0-9a-f]+) \{([0-9a-f]*)\} \[(.*?)\](?: :: '(.*)')?$/;

describe('libcoap coap-client-notls against CoapServerInbox', () => {
  let inbox: CoapServerInbox;
  const deliveries: ServerDelivery[] = [];

  beforeEach(async () => {
    inbox = new CoapServerInbox({ host: '127.0.0.1', port: 0 });
    await inbox.start({
      onServerDelivery: async (d): Promise<ServerDeliveryVerdict> => {
        deliveries.push(d);
        return d.kind === 'MSG' && d.targetAddress === 'ue-nobody' ? { kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN', detail: 'test' } : { kind: 'STORED' };
      },
    });
  });
  afterEach(() => inbox.stop());

  itWithLibcoap('a CON POST of a MSG (Content-Format 50) is answered ACK 2.04 with the MSGRESP; an unknown recipient with DELY_FAILED', async () => {
    const body = (dest: string): string => JSON.stringify({ messageType: 'MSG', oriAddr: 'as-weather', oriType: 'AS', destAddr: dest, msgId: MID, delivStReqInd: true, payload: 'aGVsbG8=' });
    const run = await runChecked(CLIENT, ['-v', '7', '-m', 'post', '-t', '50', '-e', body('gw-1/127.0.0.1:40001/42'), inbox.notifyUri], { timeoutMs: 20_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    const lines = output.split('\n').map((l) => LINE.exec(l.trim())).filter((m): m is RegExpExecArray => m !== null);
    const answer = lines.find((m) => m[1] === 'ACK');
    expect(answer?.[2]).toBe('2.04');
    expect(run.stdout).toContain(`{"messageType":"MSGRESP","msgId":"${MID}","status":"DELY_STORED"}`);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ kind: 'MSG', originatorAddress: 'as-weather', originatorType: 'AS', targetAddress: 'gw-1/127.0.0.1:40001/42', payload: new Uint8Array(Buffer.from('hello')) });

    const refused = await runChecked(CLIENT, ['-m', 'post', '-t', '50', '-e', body('ue-nobody'), inbox.notifyUri], { timeoutMs: 20_000 });
    expect(refused.stdout).toContain(`{"messageType":"MSGRESP","msgId":"${MID}","status":"DELY_FAILED","failureCause":"RECIPIENT_UNKNOWN"}`);
  }, 30_000);
});
