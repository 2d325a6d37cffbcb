/**
 * `LinkLifecycle`: the part of every device link that is the same whatever the wire, so each link
 * gets it right once (docs/adding-a-device-link.md; the DeviceLink contract suite checks it):
 *
 * - `start` opens the link's resource (a socket, a port); a second `start` while starting or
 *   running rejects `BIND` ("already running"); `stop` during `start` closes what `start` opened
 *   and `start` rejects `CLOSED`; a failed open leaves the link startable again.
 * - `stop` is idempotent and waits for the close; afterwards `running` is undefined (so `send`
 *   rejects `CLOSED`) and nothing more reaches the handler.
 * - `deliver` guards the handler: a throwing handler is logged, never thrown into the driver, and
 *   nothing is delivered after `stop`.
 *
 * Rejected alternative: an abstract base class links extend. Composition keeps the adapter's own
 * state visible in one place and lets a link hold several resources its own way.
 */
import { DeviceLinkError, type DeviceLinkHandler, type Logger, silentLogger } from '@msgin5g/core';

type State<R> =
  | { readonly kind: 'IDLE' }
  | { readonly kind: 'STARTING'; readonly generation: number }
  | { readonly kind: 'RUNNING'; readonly resource: R; readonly handler: DeviceLinkHandler }
  | { readonly kind: 'STOPPED' };

/** What a running link has: its resource and the handler it was started with. */
export interface Running<R> {
  readonly resource: R;
  readonly handler: DeviceLinkHandler;
}

export interface LinkLifecycleOptions<R> {
  /** For messages: `UDP device link udp://0.0.0.0:5690` (a function: the endpoint may change at start). */
  readonly name: () => string;
  /** Closes the resource; must not throw (errors are logged). */
  readonly close: (resource: R) => Promise<void> | void;
  readonly logger?: Logger;
}

export class LinkLifecycle<R> {
  private state: State<R> = { kind: 'IDLE' };
  private generation = 0;
  private readonly logger: Logger;

  constructor(private readonly options: LinkLifecycleOptions<R>) {
    this.logger = options.logger ?? silentLogger;
  }

  /** The resource and handler while running; undefined before `start` resolves and after `stop`. */
  get running(): Running<R> | undefined {
    return this.state.kind === 'RUNNING' ? { resource: this.state.resource, handler: this.state.handler } : undefined;
  }

  /**
   * Runs `open` and, if `stop` did not come meanwhile, keeps its resource as running.
   * @throws DeviceLinkError `BIND` when already starting or running (and whatever `open` throws,
   *   which should be a `DeviceLinkError` `BIND`); `CLOSED` when `stop` came while opening.
   */
  async start(handler: DeviceLinkHandler, open: () => Promise<R>): Promise<R> {
    if (this.state.kind === 'STARTING' || this.state.kind === 'RUNNING') {
      throw new DeviceLinkError('BIND', `${this.options.name()} is already running`);
    }
    const generation = ++this.generation;
    this.state = { kind: 'STARTING', generation };
    let resource: R;
    try {
      resource = await open();
    } catch (err) {
      if (this.state.kind === 'STARTING' && this.state.generation === generation) this.state = { kind: 'IDLE' };
      throw err;
    }
    if (this.state.kind !== 'STARTING' || this.state.generation !== generation) {
      await this.closeQuietly(resource);
      throw new DeviceLinkError('CLOSED', `${this.options.name()} was stopped while starting`);
    }
    this.state = { kind: 'RUNNING', resource, handler };
    return resource;
  }

  /**
   * The running state, or a `DeviceLinkError` `CLOSED` naming `what` was refused.
   * @throws DeviceLinkError `CLOSED`.
   */
  requireRunning(what = 'send'): Running<R> {
    const r = this.running;
    if (r === undefined) throw new DeviceLinkError('CLOSED', `${this.options.name()} is not running; cannot ${what}`);
    return r;
  }

  /** Stops: closes the resource if running (a `start` in progress closes its own). Idempotent. */
  async stop(): Promise<void> {
    this.generation++;
    const state = this.state;
    this.state = { kind: 'STOPPED' };
    if (state.kind === 'RUNNING') await this.closeQuietly(state.resource);
  }

  /**
   * Calls `fn` with the handler if the link is running, guarding it: a throw is logged (naming
   * `what`, e.g. `onRequest`), never passed to the driver. Returns whether the handler was called.
   */
  deliver(fn: (handler: DeviceLinkHandler) => void, what = 'a handler call'): boolean {
    const r = this.running;
    if (r === undefined) return false;
    try {
      fn(r.handler);
    } catch (err) {
      this.logger.error({ link: this.options.name(), err: err instanceof Error ? err.message : String(err) }, `device link handler threw in ${what}; the link goes on`);
    }
    return true;
  }

  private async closeQuietly(resource: R): Promise<void> {
    try {
      await this.options.close(resource);
    } catch (err) {
      this.logger.warn({ link: this.options.name(), err: err instanceof Error ? err.message : String(err) }, 'closing the device link failed');
    }
  }
}
