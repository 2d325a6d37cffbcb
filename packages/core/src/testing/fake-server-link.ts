import type { UeServiceId } from '../ids';
import { ServerLinkError, type MessageOutcome, type ServerLink, type ServerMessageRequest, type ServerOutcome, type ServerReportRequest, type ServerRequest } from '../ports/server-link';

/**
 * How the fake server answers one call: an outcome, or `NEVER` (the server stays silent). The fake
 * has no deadline of its own, so `NEVER` resolves at once with the outcome a real link reports when
 * its deadline passes: FAILURE `SERVER_UNREACHABLE`, cause "no answer within the deadline". To make
 * a call wait, use {@link FakeServerLink.hold}.
 */
export type FakeAnswer = ServerOutcome | { readonly kind: 'NEVER' };

/** How the fake server answers one `MSG`: an outcome, or `NEVER` (read as FAILURE `SERVER_UNREACHABLE`, as {@link FakeAnswer}). */
export type FakeMessageAnswer = MessageOutcome | { readonly kind: 'NEVER' };

/** The operations the fake serves; `hold()` may name some of them. */
export type FakeOperation = 'REG' | 'DEREG' | 'MSG' | 'IMDN';

export interface FakeServerCall {
  readonly operation: 'REG' | 'DEREG';
  readonly request: ServerRequest;
}

/**
 * `ServerLink` double with a registry like the reference server's: REG adds the UE Service ID,
 * DEREG removes it (DEREG of an unknown one is a success, as the real link reads `NOT_REGISTERED`);
 * an unscripted request on a device's behalf (with `gatewayUeServiceId`) whose gateway is not in
 * the registry answers FAILURE `GATEWAY_NOT_REGISTERED`, registry untouched. `forget()` empties
 * the registry, as a server restart does.
 * Every call is recorded in `calls` when it is made. Answers are scripted with `answerNext()` and
 * taken in call order, each when its call is made; without a script a call succeeds.
 * There is no timed delay: a call made while `hold()` is on waits until the test calls `release()`,
 * then answers as scripted; `close()` releases it too, and it then rejects with `CLOSED` (outcome
 * unknown). The registry changes only when a SUCCESS answer is returned.
 * `MSG` and `IMDN` (docs/wire-formats.md §5.4) are recorded in `messageCalls` and scripted apart, with
 * `answerNextMessage()` / `answerNextReport()`; unscripted, they succeed when the sender's gateway is
 * in the registry and answer GATEWAY_NOT_REGISTERED when not. `hold('MSG')` holds only those.
 */
export class FakeServerLink implements ServerLink {
  readonly endpoint = 'fake://msgin5g-server';
  readonly calls: FakeServerCall[] = [];
  /** `MSG` and `IMDN` calls, in call order (docs/wire-formats.md §5.4). */
  readonly messageCalls: Array<{ readonly operation: 'MSG'; readonly request: ServerMessageRequest } | { readonly operation: 'IMDN'; readonly request: ServerReportRequest }> = [];
  /** The largest MSG payload the fake server takes, octets. */
  maxMessagePayloadOctets = 4_000;
  readonly registry = new Set<UeServiceId>();
  private readonly script: FakeAnswer[] = [];
  private readonly messageScript: FakeMessageAnswer[] = [];
  private readonly reportScript: FakeAnswer[] = [];
  private readonly held: Array<() => void> = [];
  private holding = new Set<FakeOperation>();
  private closed = false;

  /** Queues answers for the next calls, in order; after the queue is empty calls succeed. */
  answerNext(...answers: FakeAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  /** Queues answers for the next `MSG` calls, in order; after the queue is empty they answer as unscripted. */
  answerNextMessage(...answers: FakeMessageAnswer[]): this {
    this.messageScript.push(...answers);
    return this;
  }

  /** Queues answers for the next `IMDN` calls, in order; after the queue is empty they answer as unscripted. */
  answerNextReport(...answers: FakeAnswer[]): this {
    this.reportScript.push(...answers);
    return this;
  }

  /**
   * Calls of the given operations (all when none is given) made from now on wait until `release()`;
   * calls made before are not affected.
   */
  hold(...operations: FakeOperation[]): this {
    for (const op of operations.length === 0 ? (['REG', 'DEREG', 'MSG', 'IMDN'] as const) : operations) this.holding.add(op);
    return this;
  }

  /** Lets every held call answer, and stops holding. */
  release(): void {
    this.holding.clear();
    for (const r of this.held.splice(0)) r();
  }

  /** Forgets every registration, the gateway's own included (a restarted server). */
  forget(): void {
    this.registry.clear();
  }

  /** Number of calls waiting for `release()`. */
  get pending(): number {
    return this.held.length;
  }

  register(request: ServerRequest): Promise<ServerOutcome> {
    return this.call('REG', request);
  }

  deregister(request: ServerRequest): Promise<ServerOutcome> {
    return this.call('DEREG', request);
  }

  /**
   * `MSG`: recorded in `messageCalls`; scripted by `answerNextMessage()`; unscripted, ACCEPTED
   * `DELIVERED` when the sender's gateway is registered, FAILURE `GATEWAY_NOT_REGISTERED` when not.
   */
  async sendMessage(request: ServerMessageRequest): Promise<MessageOutcome> {
    if (this.closed) throw new ServerLinkError('CLOSED', 'server link is closed');
    this.messageCalls.push({ operation: 'MSG', request });
    const scripted = this.messageScript.shift();
    await this.wait('MSG');
    const answer: FakeMessageAnswer =
      scripted ?? (this.registry.has(request.gatewayUeServiceId) ? { kind: 'ACCEPTED', deliveryStatus: 'DELIVERED' } : { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'FAILURE GATEWAY_NOT_REGISTERED' });
    return answer.kind === 'NEVER' ? { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within the deadline' } : answer;
  }

  /** `IMDN`: recorded in `messageCalls`; scripted by `answerNextReport()`; unscripted, SUCCESS when the reporter's gateway is registered. */
  async sendReport(request: ServerReportRequest): Promise<ServerOutcome> {
    if (this.closed) throw new ServerLinkError('CLOSED', 'server link is closed');
    this.messageCalls.push({ operation: 'IMDN', request });
    const scripted = this.reportScript.shift();
    await this.wait('IMDN');
    const answer: FakeAnswer =
      scripted ?? (this.registry.has(request.gatewayUeServiceId) ? { kind: 'SUCCESS' } : { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'FAILURE GATEWAY_NOT_REGISTERED' });
    return answer.kind === 'NEVER' ? { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within the deadline' } : answer;
  }

  /** `MSG` calls so far, in order. */
  get messages(): ServerMessageRequest[] {
    return this.messageCalls.flatMap((c) => (c.operation === 'MSG' ? [c.request] : []));
  }

  /** `IMDN` calls so far, in order. */
  get reports(): ServerReportRequest[] {
    return this.messageCalls.flatMap((c) => (c.operation === 'IMDN' ? [c.request] : []));
  }

  /** Waits for `release()` while `operation` is held; rejects `CLOSED` when `close()` released it. */
  private async wait(operation: FakeOperation): Promise<void> {
    if (!this.holding.has(operation)) return;
    await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.closed) throw new ServerLinkError('CLOSED', 'server link closed before an answer; the outcome is unknown');
  }

  /** Held calls then reject with `CLOSED`: their outcome is unknown (the port contract). */
  async close(): Promise<void> {
    this.closed = true;
    this.release();
  }

  private async call(operation: 'REG' | 'DEREG', request: ServerRequest): Promise<ServerOutcome> {
    if (this.closed) throw new ServerLinkError('CLOSED', 'server link is closed');
    this.calls.push({ operation, request });
    const scripted = this.script.shift();
    await this.wait(operation);
    // Unscripted, the registry decides when the call is answered (a held call sees a later forget()).
    const gw = request.gatewayUeServiceId;
    const answer: FakeAnswer =
      scripted ?? (gw !== undefined && !this.registry.has(gw) ? { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'FAILURE GATEWAY_NOT_REGISTERED' } : { kind: 'SUCCESS' });
    if (answer.kind === 'NEVER') return { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within the deadline' };
    if (answer.kind === 'SUCCESS') {
      if (operation === 'REG') this.registry.add(request.ueServiceId);
      else this.registry.delete(request.ueServiceId);
    }
    return answer;
  }
}
