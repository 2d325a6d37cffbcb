/**
 * `DevicePort`: one UDP socket of the load generator, connected to the gateway, carrying many
 * simulated devices at once (a device is (Layer-2 ID, Application ID); all devices of a port share
 * its Layer-2 ID `127.0.0.1:port`). Requests are matched to responses by Application ID (REG),
 * Registration ID (DEREG) or Message ID (MESSAGE SENDING REQUEST, docs/wire-formats.md §5.2),
 * retransmitted after `timeoutMs` (as a device does) up to `retries` times. What the gateway sends
 * unasked (MESSAGE RECEIVING, DELIVERY REPORT RECEIVING) goes to `onArrival`; with `autoAck` every
 * copy of a MESSAGE RECEIVING is acknowledged at once with a MESSAGE RECEIVING ACK (§5.3: the
 * gateway resends until it sees one, so a lost ack is made good by the next copy).
 * Rejected alternative: one `UdpDevice` (apps/device-sim) per device — 10 000 sockets and one
 * pending request per socket; the gateway would see the same messages either way.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { ApplicationId, DeliveryReportReceiving, DeviceResponse, MessageId, MessageReceiving, MessageSendingRequest, MessageSendingResponse, RegistrationId } from '@msgin5g/core';
import { decodeM5, encodeM5 } from '@msgin5g/protocol';

export interface Answer<R = DeviceResponse> {
  readonly response: R;
  readonly attempts: number;
  readonly latencyMs: number;
}

interface Pending {
  readonly resolve: (a: Answer<DeviceResponse | MessageSendingResponse>) => void;
  readonly reject: (e: Error) => void;
  readonly startedAt: number;
  attempts: number;
  timer?: NodeJS.Timeout;
}

export class DevicePort {
  private readonly pending = new Map<string, Pending>();
  /** Datagrams sent again after a timeout. */
  retransmissions = 0;
  /** Responses nobody waited for (late duplicates). */
  unmatched = 0;
  /** Called for every MESSAGE RECEIVING / DELIVERY REPORT RECEIVING copy, with its arrival time (`performance.now()`). */
  onArrival?: (m: MessageReceiving | DeliveryReportReceiving, atMs: number) => void;
  /** Acknowledge every MESSAGE RECEIVING copy with a MESSAGE RECEIVING ACK (its Message ID and Application ID). */
  autoAck = false;
  /** MESSAGE RECEIVING ACKs sent. */
  acksSent = 0;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly localPort: number,
  ) {
    socket.on('message', (msg) => this.onMessage(msg));
    socket.on('error', () => undefined); // ECONNREFUSED while the gateway is down: retransmission covers it
  }

  static async open(gatewayPort: number): Promise<DevicePort> {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((res, rej) => {
      socket.once('error', rej);
      socket.bind(0, '127.0.0.1', () => res());
    });
    await new Promise<void>((res, rej) => {
      socket.once('error', rej);
      socket.connect(gatewayPort, '127.0.0.1', () => res());
    });
    return new DevicePort(socket, socket.address().port);
  }

  register(applicationId: number, timeoutMs: number, retries: number): Promise<Answer> {
    return this.send(`R${applicationId}`, encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: applicationId as ApplicationId }), timeoutMs, retries) as Promise<Answer>;
  }

  deregister(registrationId: RegistrationId, timeoutMs: number, retries: number): Promise<Answer> {
    return this.send(`D${registrationId}`, encodeM5({ kind: 'DEREGISTRATION_REQUEST', registrationId }), timeoutMs, retries) as Promise<Answer>;
  }

  /** Sends a MESSAGE SENDING REQUEST; resolves its MESSAGE SENDING RESPONSE (matched by Message ID). Rejects after `retries` resends without one. */
  sendMessage(request: Omit<MessageSendingRequest, 'kind'>, timeoutMs: number, retries: number): Promise<Answer<MessageSendingResponse>> {
    return this.send(`M${request.messageId}`, encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', ...request }), timeoutMs, retries) as Promise<Answer<MessageSendingResponse>>;
  }

  /** Sends one MESSAGE RECEIVING ACK (no answer exists). */
  ack(messageId: MessageId, applicationId: ApplicationId | undefined): void {
    if (this.closed) return;
    this.acksSent += 1;
    this.socket.send(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId, ...(applicationId === undefined ? {} : { applicationId }) }), () => undefined);
  }

  /** Forgets every pending request (they reject with "cancelled"); answers arriving later are counted as unmatched. */
  cancelAll(): void {
    for (const [key, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(key);
      p.reject(new Error('cancelled'));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelAll();
    await new Promise<void>((res) => this.socket.close(() => res()));
  }

  private send(key: string, bytes: Uint8Array, timeoutMs: number, retries: number): Promise<Answer<DeviceResponse | MessageSendingResponse>> {
    if (this.closed) return Promise.reject(new Error('closed'));
    if (this.pending.has(key)) return Promise.reject(new Error(`request ${key} already pending`));
    return new Promise<Answer<DeviceResponse | MessageSendingResponse>>((resolve, reject) => {
      const p: Pending = { resolve, reject, startedAt: performance.now(), attempts: 0 };
      const attempt = (): void => {
        p.attempts += 1;
        if (p.attempts > 1) this.retransmissions += 1;
        this.socket.send(bytes, () => undefined);
        // Randomised as CoAP's ACK_RANDOM_FACTOR (RFC 7252 §4.2), so that a burst does not retransmit in lockstep.
        p.timer = setTimeout(() => {
          if (p.attempts <= retries) return attempt();
          this.pending.delete(key);
          reject(new Error(`no answer to ${key} after ${p.attempts} attempts`));
        }, timeoutMs * (1 + Math.random() / 2));
      };
      this.pending.set(key, p);
      attempt();
    });
  }

  /** A response that names no request (a failure without the ID) goes to the oldest pending request of its kind. */
  private oldestPending(prefix: 'R' | 'D' | 'M'): string | undefined {
    for (const k of this.pending.keys()) if (k.startsWith(prefix)) return k;
    return undefined;
  }

  private onMessage(msg: Buffer): void {
    const d = decodeM5(msg);
    if (!d.ok) return;
    const m = d.message;
    if (m.kind === 'MESSAGE_RECEIVING' || m.kind === 'DELIVERY_REPORT_RECEIVING') {
      if (m.kind === 'MESSAGE_RECEIVING' && this.autoAck) this.ack(m.messageId, m.applicationId);
      this.onArrival?.(m, performance.now());
      return;
    }
    if (m.kind !== 'REGISTRATION_RESPONSE' && m.kind !== 'DEREGISTRATION_RESPONSE' && m.kind !== 'MESSAGE_SENDING_RESPONSE') return;
    let key: string | undefined;
    if (m.kind === 'MESSAGE_SENDING_RESPONSE') key = `M${m.messageId}`;
    else if (m.kind === 'REGISTRATION_RESPONSE' && m.applicationId !== undefined) key = `R${m.applicationId}`;
    else if (m.kind === 'DEREGISTRATION_RESPONSE' && m.result === 'SUCCESS') key = `D${m.registrationId}`;
    else key = this.oldestPending(m.kind === 'REGISTRATION_RESPONSE' ? 'R' : 'D');
    const p = key === undefined ? undefined : this.pending.get(key);
    if (p === undefined || key === undefined) {
      this.unmatched += 1;
      return;
    }
    this.pending.delete(key);
    clearTimeout(p.timer);
    p.resolve({ response: m, attempts: p.attempts, latencyMs: performance.now() - p.startedAt });
  }
}
