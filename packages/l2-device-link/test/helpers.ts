/** Shared helpers of the L2 link tests: a recording handler and logger, hex conversions. */
import type { DeviceLinkHandler, DeviceProtocolError, DeviceRequest, Layer2Id, LinkKind } from '@msgin5g/core';

export const hex = (s: string): Uint8Array => Uint8Array.from((s.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export class Recorder implements DeviceLinkHandler {
  readonly requests: Array<{ request: DeviceRequest; from: Layer2Id; link: LinkKind }> = [];
  readonly errors: DeviceProtocolError[] = [];
  onRequest(request: DeviceRequest, from: Layer2Id, link: LinkKind): void {
    this.requests.push({ request, from, link });
  }
  onProtocolError(error: DeviceProtocolError): void {
    this.errors.push(error);
  }
  async until(pred: () => boolean, timeoutMs = 3000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

/** Lets every frame already sent on an in-memory segment be delivered (they go out on setImmediate). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export { RecordingLogger } from '@msgin5g/core/testing';
