/**
 * The simulator's `send` and `listen` flows (docs/wire-formats.md §5), the same on every link: a
 * {@link MessagingChannel} hides whether units are M5 binary (UDP, L2, serial) or CoAP JSON.
 *
 * - send: one MESSAGE SENDING REQUEST, resent with the same Message ID until its MESSAGE SENDING
 *   RESPONSE (the channel's schedule), printed; with a report wanted, then the DELIVERY REPORT
 *   RECEIVING about that Message ID, printed too.
 * - listen: every MESSAGE RECEIVING and DELIVERY REPORT RECEIVING printed once per (kind,
 *   originator, Message ID); every copy of a MESSAGE RECEIVING acknowledged (the gateway resends
 *   until it sees an ack, §5.3, so a lost ack must be made good by the next copy); with `report`, a
 *   DELIVERY REPORT SENDING REQUEST (delivered) to the originator of each message that asks for one,
 *   sent before the first ack so the gateway can relay the device's own report (TS 23.554 §8.6.1
 *   step 4b) rather than turn the ack into one (step 4a).
 *
 * Output: one JSON line per message on stdout, notes on stderr. Exit codes as `cli.ts`: 0 done,
 * 1 a FAILURE (or STATUS, or a CoAP error) or too few messages before the timeout, 2 no answer or
 * a local error.
 */
import type { ApplicationId, DeliveryReportReceiving, DeliveryReportSendingRequest, MessageReceiving, MessageSendingRequest, MessageSendingResponse } from '@msgin5g/core';

/** A message from the gateway for the device, with the line to print and how to acknowledge it. */
export interface Arrival {
  readonly message: MessageReceiving | DeliveryReportReceiving;
  readonly line: Record<string, unknown>;
  /** Sends the link's acknowledgement of this copy (0x05 on M5 binary links; nothing on CoAP, whose 2.04 already was). */
  ack(): Promise<void>;
}

/** The answer to a request the device sent: the line to print, and the decoded response when it is one. */
export interface Answered<R> {
  readonly line: Record<string, unknown>;
  /** Absent when the answer was a STATUS or a CoAP error code. */
  readonly response?: R;
  /** Failure reason or CoAP code when the answer is a failure; absent on success. */
  readonly failure?: string;
}

/**
 * A device's link as the flows use it. Every method throws {@link MessagingError} for no answer or
 * a local problem; a gateway's refusal is an {@link Answered} with `failure`.
 */
export interface MessagingChannel {
  /** REGISTRATION REQUEST with `applicationId`; resolves with the REGISTRATION RESPONSE. */
  register(applicationId: ApplicationId): Promise<Answered<unknown>>;
  /** MESSAGE SENDING REQUEST; resolves with the MESSAGE SENDING RESPONSE echoing its Message ID. */
  sendMessage(request: MessageSendingRequest): Promise<Answered<MessageSendingResponse>>;
  /** DELIVERY REPORT SENDING REQUEST (no answer is defined on M5 binary links; CoAP waits for its 2.04). */
  sendReport(report: DeliveryReportSendingRequest): Promise<void>;
  /**
   * Which arrivals the device takes from now on. Others are neither acknowledged nor returned (on
   * CoAP they are answered 5.03), and a note goes to stderr.
   */
  want(accept: (m: MessageReceiving | DeliveryReportReceiving) => boolean): void;
  /** The next wanted arrival, or `undefined` after `timeoutMs` (ms). */
  next(timeoutMs: number): Promise<Arrival | undefined>;
  close(): Promise<void>;
}

/** No answer, or a local problem: `line` is the JSON the CLI prints (`{"error":"TIMEOUT",…}`). */
export class MessagingError extends Error {
  override readonly name = 'MessagingError';
  constructor(
    readonly line: Record<string, unknown>,
    message: string,
  ) {
    super(message);
  }
}

export interface Io {
  out(line: string): void;
  err(text: string): void;
}

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_NO_ANSWER = 2;

/**
 * Registers with `applicationId` and prints the response line. Resolves `undefined` on SUCCESS,
 * otherwise the exit code to stop with (1 refused, 2 no answer).
 */
export async function registerFirst(channel: MessagingChannel, applicationId: ApplicationId, io: Io): Promise<number | undefined> {
  const answer = await guarded(() => channel.register(applicationId), io);
  if (typeof answer === 'number') return answer;
  io.out(JSON.stringify(answer.line));
  if (answer.failure !== undefined) {
    io.err(`device: registration refused (${answer.failure}); nothing sent\n`);
    return EXIT_REFUSED;
  }
  return undefined;
}

/**
 * `device send`: prints the MESSAGE SENDING RESPONSE; with `reportTimeoutMs`, waits that long (ms)
 * for the DELIVERY REPORT RECEIVING about the Message ID and prints it. Resolves the exit code: 0
 * ACCEPTED (and, waited for, a report of DELIVERED), 1 FAILURE (or a failed report), 2 no answer.
 */
export async function runSend(channel: MessagingChannel, request: MessageSendingRequest, reportTimeoutMs: number | undefined, io: Io): Promise<number> {
  // Wanted before sending: a report may overtake the response.
  channel.want((m) => reportTimeoutMs !== undefined && m.kind === 'DELIVERY_REPORT_RECEIVING' && m.messageId === request.messageId);
  const answer = await guarded(() => channel.sendMessage(request), io);
  if (typeof answer === 'number') return answer;
  io.out(JSON.stringify(answer.line));
  if (answer.response?.result !== 'ACCEPTED') return EXIT_REFUSED;
  if (reportTimeoutMs === undefined) return EXIT_OK;
  const arrival = await guarded(() => channel.next(reportTimeoutMs), io);
  if (typeof arrival === 'number') return arrival;
  if (arrival === undefined) {
    io.err(`device: no DELIVERY REPORT RECEIVING for Message ID ${request.messageId} within ${reportTimeoutMs / 1000} s\n`);
    io.out(JSON.stringify({ error: 'REPORT_TIMEOUT', messageId: request.messageId, reportTimeoutS: reportTimeoutMs / 1000 }));
    return EXIT_NO_ANSWER;
  }
  io.out(JSON.stringify(arrival.line));
  return arrival.message.kind === 'DELIVERY_REPORT_RECEIVING' && arrival.message.deliveryStatus === 'FAILED' ? EXIT_REFUSED : EXIT_OK;
}

export interface ListenOptions {
  /** Distinct messages (and reports) to wait for. */
  readonly count: number;
  /** Overall bound, ms. */
  readonly timeoutMs: number;
  /** Send a delivered DELIVERY REPORT SENDING REQUEST for each message that asks for one. */
  readonly report: boolean;
  /** Application ID for acks and reports when the message carries none. */
  readonly applicationId?: ApplicationId;
}

/** `device listen`: resolves 0 when `count` distinct arrivals were printed, 1 at the timeout with fewer, 2 on a local error. */
export async function runListen(channel: MessagingChannel, options: ListenOptions, io: Io): Promise<number> {
  channel.want(() => true);
  const seen = new Set<string>();
  const end = Date.now() + options.timeoutMs;
  while (seen.size < options.count) {
    const remaining = end - Date.now();
    if (remaining <= 0) break;
    const arrival = await guarded(() => channel.next(remaining), io);
    if (typeof arrival === 'number') return arrival;
    if (arrival === undefined) break;
    const m = arrival.message;
    const key = `${m.kind} ${m.originatorAddress} ${m.messageId}`;
    const first = !seen.has(key);
    if (first && options.report && m.kind === 'MESSAGE_RECEIVING' && m.deliveryStatusRequired) {
      const applicationId = m.applicationId ?? options.applicationId;
      const report: DeliveryReportSendingRequest = { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: m.originatorAddress, messageId: m.messageId, deliveryStatus: 'DELIVERED', ...(applicationId === undefined ? {} : { applicationId }) };
      const sent = await guarded(() => channel.sendReport(report), io);
      if (typeof sent === 'number') return sent;
    }
    const acked = await guarded(() => arrival.ack(), io);
    if (typeof acked === 'number') return acked;
    if (!first) {
      io.err(`device: another copy of ${m.kind} ${m.messageId} from ${m.originatorAddress}: acknowledged, not printed again\n`);
      continue;
    }
    seen.add(key);
    io.out(JSON.stringify(arrival.line));
  }
  channel.want(() => false); // done: what arrives now is not taken (on CoAP: 5.03, not a 2.04 for a message nobody prints)
  if (seen.size >= options.count) return EXIT_OK;
  io.err(`device: ${seen.size} of ${options.count} message(s) arrived within ${options.timeoutMs / 1000} s\n`);
  if (seen.size === 0) {
    io.err('device: (messages reach only a device registered from this Layer-2 ID — the same --local-port, --mac or --serial-path as its register; use --register to do both here — and only while the gateway still resends: about a minute after it took the message)\n');
  }
  return EXIT_REFUSED;
}

/** Runs `f`; a {@link MessagingError} is printed (line on stdout, message on stderr) and becomes exit code 2. */
async function guarded<T>(f: () => Promise<T>, io: Io): Promise<T | number> {
  try {
    return await f();
  } catch (err) {
    if (!(err instanceof MessagingError)) throw err;
    io.err(`device: ${err.message}\n`);
    io.out(JSON.stringify(err.line));
    return EXIT_NO_ANSWER;
  }
}
