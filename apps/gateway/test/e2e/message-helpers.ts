/**
 * Test helpers shared by the message end-to-end tests (messages-*.test.ts; docs/wire-formats.md §5):
 * reading a UDP device's next unit, the reference server's AS inbox, and the gateway's downlink
 * counters.
 */
import { decodeM5, type M5Message } from '@msgin5g/protocol';
import { runServerCli, type Placement } from '../../src/demo/processes';
import type { RawDevice } from './raw-device';

/** Octets as lower-case hex. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The next datagram a UDP device gets, decoded (the test fails on anything that does not decode). */
export async function nextUdpUnit(device: RawDevice, timeoutMs = 10_000): Promise<M5Message> {
  const bytes = Buffer.from(await device.next(timeoutMs), 'hex');
  const decoded = decodeM5(bytes);
  if (!decoded.ok) throw new Error(`UDP device ${device.port} got a unit that does not decode: ${bytes.toString('hex')} (${decoded.error.message})`);
  return decoded.message;
}

/** The server's AS inbox (`server messages`, run where the server runs), one object per line. */
export async function asInbox(serverPort: number, placement: Placement = {}): Promise<Array<Record<string, unknown>>> {
  const r = await runServerCli(['messages', '--server', `coap://127.0.0.1:${serverPort}`], 30_000, placement);
  if (r.code !== 0) throw new Error(`server messages failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The gateway's downlink counters (admin API `/metrics`, apps/gateway/src/gateway-metrics.ts): series without the prefix → value. */
export async function downlinkCounters(adminUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^msgin5g_gateway_(downlink_(?:ended|sends)_total\{[^}]*\}) (\d+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}
