/** Test helpers: a recording `DeviceLinkHandler`, a recording logger, waiting, ports (the IPv6 probe is in @msgin5g/test-support). */
import type { DeviceLinkHandler, DeviceProtocolError, DeviceRequest, Layer2Id, LinkKind } from '@msgin5g/core';

export class Recorder implements DeviceLinkHandler {
  readonly requests: Array<{ request: DeviceRequest; from: Layer2Id; link: LinkKind }> = [];
  readonly errors: DeviceProtocolError[] = [];
  /** Called after each request is recorded (tests answer from here). */
  onEach: (request: DeviceRequest, from: Layer2Id) => void = () => undefined;
  onRequest(request: DeviceRequest, from: Layer2Id, link: LinkKind): void {
    this.requests.push({ request, from, link });
    this.onEach(request, from);
  }
  onProtocolError(error: DeviceProtocolError): void {
    this.errors.push(error);
  }
  /** Sources of the copies the link's message layer absorbed. */
  readonly duplicates: Layer2Id[] = [];
  onDuplicateAbsorbed(from: Layer2Id): void {
    this.duplicates.push(from);
  }
  until(pred: () => boolean, timeoutMs = 3000): Promise<void> {
    return until(pred, timeoutMs);
  }
}

/** Resolves once `pred()` holds; rejects after `timeoutMs`. */
export async function until(pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export { RecordingLogger } from '@msgin5g/core/testing';

/** The port of a started link, from its endpoint (`coap://127.0.0.1:5683/msgin5g`, `coap://[::1]:5683/msgin5g`). */
export function endpointPort(endpoint: string): number {
  const m = /:(\d+)\//.exec(endpoint);
  if (m === null) throw new Error(`no port in ${endpoint}`);
  return Number(m[1]);
}
