/**
 * One simulated device of the chaos run: it registers through the gateway's UDP link and, if
 * planned, then de-registers, retrying each request with exponential back-off (jittered from the
 * run's seed) until it gets a definitive answer or its time runs out — as a real constrained device
 * does while its gateway is being killed and restarted. It records what it was last *told*: only
 * definitive answers count (SUCCESS, or a FAILURE whose reason is not "try again later").
 *
 * Retried (not definitive): no answer within the attempt's timeout, and the Failure reasons
 * CONGESTION (draining or rate-limited), GATEWAY_NOT_REGISTERED (a restarted gateway before it is
 * registered), SERVER_UNREACHABLE (the upstream exchange did not end). Every other answer ends the
 * operation.
 *
 * Answers that reach the socket while the device waits out a back-off (the restarted gateway
 * finishing the procedure and answering the stored Layer-2 ID) are read from the device's inbox
 * before it sends again, as a device would take an answer whenever it arrives. An answer is only
 * taken when it names this device (its Application ID, or the Registration ID it holds): an
 * ephemeral port can be reused by a later device and receive a late answer meant for the earlier
 * one.
 *
 * Rejected alternative: the benchmark's `DevicePort` (many devices per socket). One `UdpDevice`
 * (apps/device-sim) per device gives every device its own Layer-2 ID and rate-limit bucket, and
 * exercises the simulator's own retransmission path.
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR); docs/wire-formats.md §2 (Failure reasons).
 */
import type { ApplicationId, DeviceRequest, DeviceResponse, FailureReason, RegistrationId } from '@msgin5g/core';
import { UdpDevice, UdpDeviceError } from '@msgin5g/device-sim';
import { M5_MESSAGE_TYPE, type StatusMessage } from '@msgin5g/protocol';
import type { SeededRandom } from './seeded-random';

/** Failure reasons that mean "not now, retry later". */
export const RETRYABLE_REASONS: ReadonlySet<FailureReason> = new Set<FailureReason>(['CONGESTION', 'GATEWAY_NOT_REGISTERED', 'SERVER_UNREACHABLE']);

export type Operation = 'REG' | 'DEREG';

/** The last definitive answer a device was given. */
export type Told =
  | { readonly kind: 'registered'; readonly registrationId: string }
  | { readonly kind: 'de-registered'; readonly registrationId: string }
  /** A definitive failure. After a failed DEREG the device still holds `registrationId` (the gateway keeps the mapping, docs/adr/0003). */
  | { readonly kind: 'failed'; readonly operation: Operation; readonly reason: string; readonly registrationId?: string }
  /** No definitive answer to its REG at all (it gave up). */
  | { readonly kind: 'nothing' };

/** What one device did and was told, for the end-state check. */
export interface DeviceRecord {
  readonly index: number;
  readonly applicationId: number;
  /** `127.0.0.1:port`, as the gateway sees the device ("" if its socket could not be opened). */
  readonly layer2Id: string;
  readonly plannedDeregistration: boolean;
  told: Told;
  /** The operation the device gave up on (no definitive answer in time); its end state is then unknown. */
  gaveUpOn?: Operation;
  /** Every SUCCESS answer taken, with its Registration ID (for the "one ID, one device" check). */
  readonly successes: Array<{ readonly operation: Operation; readonly registrationId: string }>;
  /** Requests sent again after a retryable answer or no answer. */
  retries: number;
  /** Why it retried: a Failure reason, `no answer`, or `stray answer` (an answer meant for someone else). */
  readonly retryReasons: Record<string, number>;
  /** A local error that stopped the device (socket), if any. */
  error?: string;
}

export interface ChaosDeviceOptions {
  readonly index: number;
  readonly gatewayPort: number;
  readonly applicationId: number;
  readonly deregister: boolean;
  readonly random: SeededRandom;
  /** Epoch ms after which the device stops retrying. */
  readonly deadline: number;
  /** Wait per datagram before the simulator resends it, ms. Default 1000. */
  readonly attemptTimeoutMs?: number;
  /** Resends by the simulator within one attempt. Default 1. */
  readonly resends?: number;
  /** First back-off, ms (doubles per retry, jittered to [½, 1] of it). Default 100. */
  readonly backoffBaseMs?: number;
  /** Largest back-off, ms. Default 2000. */
  readonly backoffMaxMs?: number;
  /** Polled before each retry: true stops the device (it gives up). Default: never. */
  readonly cancelled?: () => boolean;
  /** Longest pause between the registration's answer and the de-registration request, ms (drawn in [0, it)). Default 300. */
  readonly thinkMaxMs?: number;
}

type Answer = DeviceResponse | StatusMessage;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs one device to its end. Never rejects: local errors are recorded in `error`. */
export async function runChaosDevice(o: ChaosDeviceOptions): Promise<DeviceRecord> {
  const fresh = (layer2Id: string): DeviceRecord => ({
    index: o.index,
    applicationId: o.applicationId,
    layer2Id,
    plannedDeregistration: o.deregister,
    told: { kind: 'nothing' },
    successes: [],
    retries: 0,
    retryReasons: {},
  });
  let device: UdpDevice;
  try {
    device = await UdpDevice.open({ gateway: `127.0.0.1:${o.gatewayPort}`, localHost: '127.0.0.1' });
  } catch (err) {
    return { ...fresh(''), gaveUpOn: 'REG', error: err instanceof Error ? err.message : String(err) };
  }
  const full = fresh(device.layer2Id);
  try {
    const appId = o.applicationId as ApplicationId;
    const reg = await untilDefinitive(device, { kind: 'REGISTRATION_REQUEST', applicationId: appId }, (a) => isRegAnswerFor(a, appId), full, o);
    if (reg === undefined) {
      full.gaveUpOn = 'REG';
      return full;
    }
    if (reg.kind === 'STATUS') {
      full.told = { kind: 'failed', operation: 'REG', reason: `STATUS ${reg.failureReason}` };
      return full;
    }
    if (reg.result === 'FAILURE') {
      full.told = { kind: 'failed', operation: 'REG', reason: reg.failureReason };
      return full;
    }
    const rid = reg.registrationId;
    full.successes.push({ operation: 'REG', registrationId: rid });
    full.told = { kind: 'registered', registrationId: rid };
    if (!o.deregister) return full;
    // A real device stays a while before it leaves; kills then also land between its two procedures.
    await sleep(o.random.between(0, o.thinkMaxMs ?? 300));

    const dereg = await untilDefinitive(device, { kind: 'DEREGISTRATION_REQUEST', registrationId: rid }, (a) => isDeregAnswerFor(a, rid, appId), full, o);
    if (dereg === undefined) {
      full.gaveUpOn = 'DEREG';
      return full;
    }
    if (dereg.kind === 'STATUS') {
      full.told = { kind: 'failed', operation: 'DEREG', reason: `STATUS ${dereg.failureReason}`, registrationId: rid };
    } else if (dereg.result === 'FAILURE') {
      full.told = { kind: 'failed', operation: 'DEREG', reason: dereg.failureReason, registrationId: rid };
    } else {
      full.successes.push({ operation: 'DEREG', registrationId: dereg.registrationId });
      full.told = { kind: 'de-registered', registrationId: dereg.registrationId };
    }
    return full;
  } catch (err) {
    full.error = err instanceof Error ? err.message : String(err);
    if (full.gaveUpOn === undefined) full.gaveUpOn = full.told.kind === 'registered' ? 'DEREG' : 'REG';
    return full;
  } finally {
    await device.close();
  }
}

/** A REGISTRATION RESPONSE for this Application ID (a failure without one is taken too: it cannot name anyone else). */
function isRegAnswerFor(a: Answer, appId: ApplicationId): boolean {
  if (a.kind === 'STATUS') return a.offendingMessageType === M5_MESSAGE_TYPE.REGISTRATION_REQUEST;
  return a.kind === 'REGISTRATION_RESPONSE' && (a.applicationId === undefined || a.applicationId === appId);
}

/** A DE-REGISTRATION RESPONSE for this Registration ID (success) or this Application ID (failure). */
function isDeregAnswerFor(a: Answer, rid: RegistrationId, appId: ApplicationId): boolean {
  if (a.kind === 'STATUS') return a.offendingMessageType === M5_MESSAGE_TYPE.DEREGISTRATION_REQUEST;
  if (a.kind !== 'DEREGISTRATION_RESPONSE') return false;
  if (a.result === 'SUCCESS') return a.registrationId === rid;
  return a.applicationId === undefined || a.applicationId === appId;
}

function isDefinitive(a: Answer): boolean {
  return a.kind === 'STATUS' || a.result === 'SUCCESS' || !RETRYABLE_REASONS.has(a.failureReason);
}

/** A definitive answer for this device that arrived unasked (read from the inbox without waiting). */
async function fromInbox(device: UdpDevice, accept: (a: Answer) => boolean): Promise<Answer | undefined> {
  for (let i = 0; i < 1024; i++) {
    let d;
    try {
      d = await device.nextMessage(1);
    } catch {
      return undefined; // inbox empty
    }
    if (!d.decoded.ok) continue;
    const m = d.decoded.message;
    if (m.kind !== 'REGISTRATION_RESPONSE' && m.kind !== 'DEREGISTRATION_RESPONSE' && m.kind !== 'STATUS') continue;
    if (accept(m) && isDefinitive(m)) return m;
  }
  return undefined;
}

/**
 * Sends `request` until a definitive answer accepted by `accept`; resolves it, or `undefined` when
 * `o.deadline` passes first. Retryable answers and silence lead to a back-off, then a new attempt.
 */
async function untilDefinitive(device: UdpDevice, request: DeviceRequest, accept: (a: Answer) => boolean, record: DeviceRecord, o: ChaosDeviceOptions): Promise<Answer | undefined> {
  const timeoutMs = o.attemptTimeoutMs ?? 1000;
  const resends = o.resends ?? 1;
  const base = o.backoffBaseMs ?? 100;
  const max = o.backoffMaxMs ?? 2000;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    let reason: string;
    const early = attempt === 0 ? undefined : await fromInbox(device, accept);
    if (early !== undefined) return early;
    try {
      const a = await device.request(request, { timeoutMs, retries: resends });
      if (!accept(a)) reason = 'stray answer';
      else if (isDefinitive(a)) return a;
      else reason = (a as DeviceResponse & { result: 'FAILURE' }).failureReason;
    } catch (err) {
      if (!(err instanceof UdpDeviceError) || err.reason !== 'TIMEOUT') throw err;
      reason = 'no answer';
    }
    const wait = Math.min(max, base * 2 ** Math.min(attempt, 20)) * o.random.between(0.5, 1);
    if (Date.now() + wait >= o.deadline || o.cancelled?.() === true) return undefined;
    record.retries += 1;
    record.retryReasons[reason] = (record.retryReasons[reason] ?? 0) + 1;
    await sleep(wait);
  }
  return undefined;
}
