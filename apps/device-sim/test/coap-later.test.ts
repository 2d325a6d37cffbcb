/**
 * The simulator as a CoAP device (`--link coap`) treats 5.03 Service Unavailable as "not now": the
 * gateway's CoAP device link answers it, with Max-Age, to a request over its pending-exchange caps
 * (RFC 7252 §5.9.3.4), so a device waits and asks again, as after CONGESTION.
 */
import { join } from 'node:path';
import { COAP_CODE, COAP_CONTENT_FORMAT_JSON, COAP_OPTION, encodeCoapMessage, parseCoapMessage, uintOptionValue } from '@msgin5g/protocol';
import { runProcess } from '@msgin5g/test-support';
import { ScriptedGateway } from './scripted-gateway';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

/** ACKs each CON with the code of `codes[n]` (piggybacked), the last code again when they run out. */
function answering(codes: number[], body: string) {
  return (r: { bytes: Uint8Array }, n: number): Uint8Array[] => {
    const parsed = parseCoapMessage(r.bytes);
    if (parsed.kind !== 'MESSAGE') return [];
    const code = codes[Math.min(n, codes.length - 1)] as number;
    const ok = code === COAP_CODE.CHANGED;
    return [
      encodeCoapMessage({
        type: 'ACK',
        code,
        messageId: parsed.message.messageId,
        token: parsed.message.token,
        options: ok ? [{ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) }] : [{ number: COAP_OPTION.MAX_AGE, value: uintOptionValue(1) }],
        payload: new TextEncoder().encode(ok ? body : 'device has too many requests pending'),
      }),
    ];
  };
}

describe('device --link coap and 5.03', () => {
  let gw: ScriptedGateway;
  afterEach(async () => gw.close());

  it('asks again after a 5.03 and prints the final 2.04 result', async () => {
    gw = await ScriptedGateway.start('127.0.0.1', answering([COAP_CODE.SERVICE_UNAVAILABLE, COAP_CODE.CHANGED], '{"messageType":"REG","result":"SUCCESS","appId":"42","registrationId":"0011223344556677"}'));
    const run = await runProcess(process.execPath, [MAIN, 'register', '--link', 'coap', '--gateway', `127.0.0.1:${gw.port}`, '--app-id', '42', '--local-port', '0', '--timeout-ms', '300', '--retries', '2'], { timeoutMs: 15_000 });
    expect(run.stderr).toMatch(/the gateway answered 5\.03; asking again/);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ result: 'SUCCESS', registrationId: '0011223344556677' });
    expect(run.code).toBe(0);
    expect(gw.received).toHaveLength(2);
  });

  it('gives up after its retries with the 5.03 as the answer (exit 1)', async () => {
    gw = await ScriptedGateway.start('127.0.0.1', answering([COAP_CODE.SERVICE_UNAVAILABLE], ''));
    const run = await runProcess(process.execPath, [MAIN, 'register', '--link', 'coap', '--gateway', `127.0.0.1:${gw.port}`, '--app-id', '42', '--local-port', '0', '--timeout-ms', '200', '--retries', '1'], { timeoutMs: 15_000 });
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ type: 'COAP_ERROR', code: '5.03' });
    expect(run.code).toBe(1);
    expect(gw.received).toHaveLength(2);
  });
});
