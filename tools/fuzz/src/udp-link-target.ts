/**
 * The `udp-link` target: a real `UdpDeviceLink` bound on 127.0.0.1 (ephemeral port), feeding a
 * real `GatewayProcedures` with the in-memory doubles of `@msgin5g/core/testing` (store, server
 * link, clock, Registration ID allocator) and an allow-all authorizer. A fuzzer socket sends
 * generated M5 units that are NOT valid requests or device messages (inputs the reference
 * `decodeDeviceUnit` accepts — REG, DEREG, and the message-delivery units 0x01, 0x02, 0x05 of
 * docs/wire-formats.md §5 — are skipped and counted: they are allowed to change state).
 *
 * Before the fuzz, a device registers (so the store is not empty); after it, the device
 * de-registers, which must still work (liveness). Datagrams go in batches (at most 64 datagrams
 * and 96 KiB in flight: with the kernel's per-datagram overhead that still fits Linux's default
 * 208 KiB receive buffer, so loopback does not drop even where the 1 MiB the link asks for is
 * capped by `net.core.rmem_max`); after each batch:
 * - every datagram was reported once through `onProtocolError`, in order, with its size and
 *   whether it was answered, and none reached `onRequest` or `onDeliveryMessage` (STATE);
 * - the answers received are, in order, exactly the reject-table answers of version 2 (ORACLE),
 *   none longer than 5 octets or 4 more than the datagram (AMPLIFICATION: the MESSAGE SENDING
 *   RESPONSE failure that echoes a Message ID is 21 octets, for at least 18 in);
 * - the store's records, its count, the core's request/response/upstream counters and the fake
 *   server's calls are unchanged (STATE);
 * - nothing was logged at error level (THROW: the link and the core log what a handler or a
 *   procedure throws).
 * A batch that changed state is re-sent one datagram at a time to find the input responsible.
 * A batch not processed and answered within the timeout is a LIVENESS failure and ends the target.
 *
 * Rejected alternative: sending valid requests too and predicting the state they should produce.
 * That needs a model of the procedures (rate limits, Application ID ownership, tombstones), which
 * the core's own tests cover; the issue's property is about invalid input, so valid units are left
 * out and the invariant becomes a plain "nothing changed".
 */
import * as dgram from 'node:dgram';
import {
  GatewayProcedures,
  must,
  parseUeServiceId,
  type DeviceLink,
  type DeviceDeliveryMessage,
  type DeviceLinkHandler,
  type DeviceProtocolError,
  type DeviceRequest,
  type Layer2Id,
  type LinkKind,
  type Logger,
  type RegistrationStore,
} from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryRegistrationStore, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';
import { decodeDeviceUnit, decodeM5 } from '@msgin5g/protocol';
import { UdpDeviceLink } from '@msgin5g/udp-device-link';
import { recordAnswer, recordFailure, type FailureCheck, type TargetResult } from './fuzz-report';
import { toHex } from './hex';
import { generateM5Input, UDP_MAX_PAYLOAD_OCTETS } from './m5-inputs';
import { expectedUnitRejectAnswer, MAX_REJECT_ANSWER_OCTETS } from './m5-checker';
import { Prng, STREAM } from './prng';

/** Test hooks: replace the link or wrap the handler, to prove the checks can fail. */
export interface UdpLinkHooks {
  /** Builds the link under test; default `new UdpDeviceLink({ host: '127.0.0.1', port: 0, logger })`. */
  readonly createLink?: (logger: Logger) => DeviceLink;
  /** Wraps the handler the link feeds (default: the `GatewayProcedures` itself). */
  readonly wrapHandler?: (core: GatewayProcedures, store: RegistrationStore) => DeviceLinkHandler;
  /** Most time one batch may take to be reported and answered, ms. Default 10 000. */
  readonly batchTimeoutMs?: number;
}

/** Where the inputs come from: generated (seed, from index 0 until `count` were sent) or given. */
export type UdpInputSource = { readonly kind: 'generated'; readonly count: number; readonly onlyIndex?: number } | { readonly kind: 'given'; readonly inputs: readonly Uint8Array[] };

export interface UdpLinkRunOptions {
  readonly seed: number;
  readonly source: UdpInputSource;
  readonly result: TargetResult;
  readonly hooks?: UdpLinkHooks;
  readonly progress?: (done: number, total: number) => void;
}

const MAX_BATCH_DATAGRAMS = 64;
const MAX_BATCH_OCTETS = 96 * 1024;
const DEVICE_APPLICATION_ID = 4242;
const REQUEST_TIMEOUT_MS = 5000;

interface Sent {
  readonly input: Uint8Array;
  /** Generated input index, or the position in a given list. */
  readonly index: number;
  readonly expected: string | null;
}

type LinkEvent =
  | { readonly kind: 'request'; readonly request: DeviceRequest | DeviceDeliveryMessage }
  | { readonly kind: 'error'; readonly error: DeviceProtocolError };

/** Counts what the link hands the core, in order, then passes it on. */
class ObservingHandler implements DeviceLinkHandler {
  readonly events: LinkEvent[] = [];
  constructor(
    private readonly inner: DeviceLinkHandler,
    private readonly poke: () => void,
  ) {}
  onRequest(request: DeviceRequest, from: Layer2Id, link: LinkKind): void {
    this.events.push({ kind: 'request', request });
    this.inner.onRequest(request, from, link);
    this.poke();
  }
  onProtocolError(error: DeviceProtocolError): void {
    this.events.push({ kind: 'error', error });
    this.inner.onProtocolError(error);
    this.poke();
  }
  onDeliveryMessage(message: DeviceDeliveryMessage, from: Layer2Id, link: LinkKind): void {
    this.events.push({ kind: 'request', request: message });
    this.inner.onDeliveryMessage?.(message, from, link);
    this.poke();
  }
}

/** A `Logger` that counts lines and keeps the error-level ones (an error line is a failure here). */
class CountingLogger implements Logger {
  lines = 0;
  readonly errors: string[] = [];
  debug(): void {
    this.lines++;
  }
  info(): void {
    this.lines++;
  }
  warn(): void {
    this.lines++;
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.lines++;
    if (this.errors.length < 100) this.errors.push(`${message} ${JSON.stringify(fields).slice(0, 300)}`);
  }
}

/** A UDP socket on 127.0.0.1 that queues what it receives. */
class Peer {
  readonly received: Uint8Array[] = [];
  private constructor(
    readonly socket: dgram.Socket,
    private readonly poke: () => void,
  ) {
    socket.on('message', (msg) => {
      this.received.push(Uint8Array.from(msg));
      this.poke();
    });
  }

  static async open(poke: () => void): Promise<Peer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.setRecvBufferSize(1 << 20);
      socket.setSendBufferSize(1 << 20);
    } catch {
      // best effort; the batch window is sized for the default buffers too
    }
    return new Peer(socket, poke);
  }

  send(bytes: Uint8Array, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

function portOf(endpoint: string): number {
  const m = /:(\d+)$/.exec(endpoint);
  if (m === null) throw new Error(`cannot read a port from the link endpoint ${endpoint}`);
  return Number(m[1]);
}

/** Runs the udp-link target; failures and figures go into `options.result`. Never rejects for a finding. */
export async function runUdpLinkTarget(options: UdpLinkRunOptions): Promise<void> {
  const { seed, source, result, hooks } = options;
  const timeoutMs = hooks?.batchTimeoutMs ?? 10_000;
  const fail = (check: FailureCheck, detail: string, input?: Sent) =>
    recordFailure(result, {
      target: 'udp-link',
      check,
      detail,
      seed,
      ...(input === undefined ? {} : { input: input.input, ...(source.kind === 'generated' ? { index: input.index } : {}) }),
    });

  let wake: (() => void) | undefined;
  let condition: () => boolean = () => false;
  const poke = () => {
    if (wake !== undefined && condition()) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  /** Resolves true when `until()` holds (re-checked on every datagram and report), false after `ms`. */
  const waitFor = (until: () => boolean, ms: number): Promise<boolean> => {
    if (until()) return Promise.resolve(true);
    condition = until;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve(until());
      }, ms);
      wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  };

  const logger = new CountingLogger();
  const store = new InMemoryRegistrationStore();
  const server = new FakeServerLink();
  const link = hooks?.createLink?.(logger) ?? new UdpDeviceLink({ host: '127.0.0.1', port: 0, logger });
  const procedures = new GatewayProcedures(
    {
      store,
      server,
      links: [link],
      clock: new FakeClock(),
      allocator: new SequenceRegistrationIdAllocator(),
      authorizer: { authorize: () => ({ allowed: true }) },
      logger,
    },
    { gatewayUeServiceId: must(parseUeServiceId('gw-fuzz')) },
  );
  const observer = new ObservingHandler(hooks?.wrapHandler?.(procedures, store) ?? procedures, poke);
  let fuzzer: Peer | undefined;
  let device: Peer | undefined;

  const snapshot = async (): Promise<string> => {
    const c = procedures.counters;
    return JSON.stringify({
      records: await store.list(),
      count: await store.count(),
      requests: c.requests,
      responses: c.responses,
      upstreamPosts: c.upstreamPosts,
      registered: c.registered,
      deregistered: c.deregistered,
      failed: c.failed,
      storeErrors: c.storeErrors,
      serverCalls: server.calls.length,
      inFlight: procedures.inFlight,
    });
  };

  try {
    await procedures.registerGateway();
    await link.start(observer);
    const port = portOf(link.endpoint);
    fuzzer = await Peer.open(poke);
    device = await Peer.open(poke);
    const dev = device;
    const exchange = async (bytes: Uint8Array): Promise<Uint8Array | undefined> => {
      const before = dev.received.length;
      await dev.send(bytes, port);
      const ok = await waitFor(() => dev.received.length > before, REQUEST_TIMEOUT_MS);
      return ok ? dev.received.splice(before, 1)[0] : undefined;
    };

    // 1. A device registers: the link works, and the store holds a record the fuzz must not touch.
    const regAnswer = await exchange(Uint8Array.of(0x10, DEVICE_APPLICATION_ID >> 8, DEVICE_APPLICATION_ID & 0xff));
    const reg = regAnswer === undefined ? undefined : decodeM5(regAnswer);
    if (reg === undefined || !reg.ok || reg.message.kind !== 'REGISTRATION_RESPONSE' || reg.message.result !== 'SUCCESS') {
      fail('LIVENESS', `the initial REGISTRATION REQUEST got ${regAnswer === undefined ? 'no answer' : toHex(regAnswer)}`);
      return;
    }
    const registrationId = reg.message.registrationId;
    await procedures.whenIdle();
    let baseline = await snapshot();
    let errorsSeen = logger.errors.length;

    // 2. The fuzz, in batches.
    const fz = fuzzer;
    const runBatch = async (batch: readonly Sent[]): Promise<boolean> => {
      observer.events.length = 0;
      fz.received.length = 0;
      const expectedAnswers = batch.filter((b) => b.expected !== null);
      try {
        await Promise.all(batch.map((b) => fz.send(b.input, port)));
      } catch (err) {
        fail('LIVENESS', `the fuzzer could not send a datagram: ${err instanceof Error ? err.message : String(err)}`, batch[0]);
        return false;
      }
      const done = await waitFor(() => observer.events.length >= batch.length && fz.received.length >= expectedAnswers.length, timeoutMs);
      if (!done) {
        const first = batch[Math.min(observer.events.length, batch.length - 1)];
        fail(
          'LIVENESS',
          `after ${timeoutMs} ms the link had reported ${observer.events.length} of ${batch.length} datagrams and sent ${fz.received.length} of ${expectedAnswers.length} answers (first unreported input shown)`,
          first,
        );
        return false;
      }
      for (let k = 0; k < batch.length; k++) {
        const ev = observer.events[k] as LinkEvent;
        const sent = batch[k] as Sent;
        if (ev.kind === 'request') {
          result.accepted++;
          fail('STATE', `an invalid input reached the core as a request: ${JSON.stringify(ev.request)}`, sent);
        } else if (ev.error.octets !== sent.input.length || ev.error.answered !== (sent.expected !== null)) {
          fail('ORACLE', `reported as {octets: ${ev.error.octets}, answered: ${String(ev.error.answered)}}, expected {octets: ${sent.input.length}, answered: ${String(sent.expected !== null)}}`, sent);
        }
      }
      if (observer.events.length > batch.length) fail('ORACLE', `${observer.events.length} reports for ${batch.length} datagrams`, batch[0]);
      const answers = fz.received.splice(0);
      if (answers.length !== expectedAnswers.length) fail('ORACLE', `${answers.length} answers for ${expectedAnswers.length} answerable datagrams`, batch[0]);
      for (let k = 0; k < Math.min(answers.length, expectedAnswers.length); k++) {
        const answer = answers[k] as Uint8Array;
        const sent = expectedAnswers[k] as Sent;
        recordAnswer(result, sent.input.length, answer.length);
        const allowed = Math.max(MAX_REJECT_ANSWER_OCTETS, sent.input.length + 4);
        if (answer.length > allowed) {
          fail('AMPLIFICATION', `answer of ${answer.length} octets (${toHex(answer.subarray(0, 64))}) to a ${sent.input.length}-octet datagram; at most ${allowed} allowed`, sent);
        } else if (toHex(answer) !== sent.expected) {
          fail('ORACLE', `answer ${toHex(answer)}, the reject table says ${sent.expected ?? 'none'}`, sent);
        }
      }
      await procedures.whenIdle();
      const now = await snapshot();
      const newErrors = logger.errors.length > errorsSeen;
      if (now !== baseline || newErrors) {
        // Find the input: re-send the batch one datagram at a time from the current state.
        const what = newErrors ? `error logged: ${logger.errors[errorsSeen] ?? ''}` : `state changed: ${baseline} → ${now}`;
        baseline = now;
        errorsSeen = logger.errors.length;
        let culprit: Sent | undefined;
        for (const b of batch) {
          observer.events.length = 0;
          await fz.send(b.input, port);
          await waitFor(() => observer.events.length >= 1, timeoutMs);
          await procedures.whenIdle();
          const after = await snapshot();
          if (after !== baseline || logger.errors.length > errorsSeen) {
            culprit = b;
            baseline = after;
            errorsSeen = logger.errors.length;
            break;
          }
        }
        fz.received.length = 0;
        const range = `inputs ${batch[0]?.index}..${batch[batch.length - 1]?.index}`;
        fail(newErrors ? 'THROW' : 'STATE', `${what}${culprit === undefined ? ` (within ${range}; not reproduced one by one)` : ''}`, culprit);
      }
      return true;
    };

    const total = source.kind === 'generated' ? (source.onlyIndex === undefined ? source.count : 1) : source.inputs.length;
    let generated = source.kind === 'generated' && source.onlyIndex !== undefined ? source.onlyIndex : 0;
    let position = 0;
    let skippedValid = 0;
    let batch: Sent[] = [];
    let batchOctets = 0;
    let alive = true;
    const nextInput = (): Sent | undefined => {
      for (;;) {
        let input: Uint8Array;
        let index: number;
        if (source.kind === 'given') {
          if (position >= source.inputs.length) return undefined;
          index = position++;
          input = source.inputs[index] as Uint8Array;
        } else {
          if (result.inputs + batch.length >= total) return undefined;
          if (source.onlyIndex !== undefined && generated > source.onlyIndex) return undefined;
          index = generated++;
          input = generateM5Input(new Prng(seed, STREAM['udp-link'], index), UDP_MAX_PAYLOAD_OCTETS);
        }
        if (decodeDeviceUnit(input).kind !== 'REJECT') {
          skippedValid++;
          continue;
        }
        return { input, index, expected: expectedUnitRejectAnswer(input) };
      }
    };
    let lastProgress = 0;
    while (alive) {
      const next = nextInput();
      if (next !== undefined && batch.length < MAX_BATCH_DATAGRAMS && batchOctets + next.input.length <= MAX_BATCH_OCTETS) {
        batch.push(next);
        batchOctets += next.input.length;
        continue;
      }
      if (batch.length > 0) {
        alive = await runBatch(batch);
        result.inputs += batch.length;
        result.protocolErrors += batch.length;
      }
      batch = next === undefined ? [] : [next];
      batchOctets = next === undefined ? 0 : next.input.length;
      if (options.progress !== undefined && result.inputs - lastProgress >= 2048) {
        lastProgress = result.inputs;
        options.progress(result.inputs, total);
      }
      if (next === undefined) break;
    }
    if (skippedValid > 0) result.notes.push(`${skippedValid} generated inputs decode as valid requests or device messages and were not sent (valid input may change state)`);
    if (!alive) return;

    // Late extra answers would be amplification by repetition.
    await new Promise((r) => setTimeout(r, 50));
    if (fz.received.length > 0) fail('ORACLE', `${fz.received.length} answers arrived after every datagram had been answered`);

    // 3. The link still serves a valid request: the device de-registers.
    const deregId = Buffer.from(registrationId, 'hex');
    const deregAnswer = await exchange(Uint8Array.from([0x12, deregId.length, ...deregId]));
    const dereg = deregAnswer === undefined ? undefined : decodeM5(deregAnswer);
    if (dereg === undefined || !dereg.ok || dereg.message.kind !== 'DEREGISTRATION_RESPONSE' || dereg.message.result !== 'SUCCESS') {
      fail('LIVENESS', `the final DE-REGISTRATION REQUEST got ${deregAnswer === undefined ? 'no answer' : toHex(deregAnswer)}`);
      return;
    }
    await procedures.whenIdle();
    const left = await store.count();
    if (left !== 0) fail('LIVENESS', `after the final DE-REGISTRATION the store still holds ${left} records`);
    if (logger.errors.length > errorsSeen) fail('THROW', `error logged: ${logger.errors[errorsSeen] ?? ''}`);
  } catch (err) {
    fail('THROW', `the udp-link harness failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await link.stop().catch(() => undefined);
    await fuzzer?.close();
    await device?.close();
    await server.close();
    await store.close();
  }
}
