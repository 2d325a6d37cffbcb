import type { UeServiceId } from '../ids';
import { ServerLinkError, type ServerLink, type ServerOutcome, type ServerRequest } from '../ports/server-link';

/** How the fake server answers: an outcome, optionally after a delay (ms of real time), or never. */
export type FakeAnswer = ServerOutcome | { readonly kind: 'NEVER' };

export interface FakeServerCall {
  readonly operation: 'REG' | 'DEREG';
  readonly request: ServerRequest;
}

/**
 * `ServerLink` double with a registry like the reference server's: REG adds the UE Service ID,
 * DEREG removes it (DEREG of an unknown one is a success, as the real link reads `NOT_REGISTERED`).
 * Answers can be scripted per call; every call is recorded. Delays use a promise the test releases.
 */
export class FakeServerLink implements ServerLink {
  readonly endpoint = 'fake://msgin5g-server';
  readonly calls: FakeServerCall[] = [];
  readonly registry = new Set<UeServiceId>();
  private readonly script: FakeAnswer[] = [];
  private readonly held: Array<() => void> = [];
  private holding = false;
  private closed = false;

  /** Queues answers for the next calls, in order; after the queue is empty calls succeed. */
  answerNext(...answers: FakeAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  /** While holding, answers wait until `release()`. */
  hold(): this {
    this.holding = true;
    return this;
  }

  /** Lets every held call answer, and stops holding. */
  release(): void {
    this.holding = false;
    for (const r of this.held.splice(0)) r();
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

  /** Held calls then reject with `CLOSED`: their outcome is unknown (the port contract). */
  async close(): Promise<void> {
    this.closed = true;
    this.release();
  }

  private async call(operation: 'REG' | 'DEREG', request: ServerRequest): Promise<ServerOutcome> {
    if (this.closed) throw new ServerLinkError('CLOSED', 'server link is closed');
    this.calls.push({ operation, request });
    const answer = this.script.shift() ?? { kind: 'SUCCESS' };
    if (this.holding) {
      await new Promise<void>((resolve) => this.held.push(resolve));
      if (this.closed) throw new ServerLinkError('CLOSED', 'server link closed before an answer; the outcome is unknown');
    }
    if (answer.kind === 'NEVER') return { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within the deadline' };
    if (answer.kind === 'SUCCESS') {
      if (operation === 'REG') this.registry.add(request.ueServiceId);
      else this.registry.delete(request.ueServiceId);
    }
    return answer;
  }
}
