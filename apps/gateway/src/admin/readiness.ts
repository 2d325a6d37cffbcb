/**
 * Readiness of the gateway for `GET /readyz` (Kubernetes readiness probe): it serves devices only
 * when (1) the Gateway UE is registered with the MSGin5G Server, (2) its store is writable and
 * (3) every configured device link is bound, and (4) it is not draining.
 *
 * "Writable", for SQLite: the gateway can take the write lock and commit. The probe is a write that
 * changes nothing (purging tombstones that expired before 1970, an indexed DELETE matching no row)
 * followed by `sync()`: it opens a write transaction (BEGIN IMMEDIATE, or joins the one of this
 * event-loop turn), so another process holding the lock, the store's write backoff after BUSY, a
 * read-only file and a failed commit all show; and commits without writing a page, so it costs no
 * fsync. It cannot see a full disk before a real write fails; the commit of that write then fails
 * and the next probe that shares a batch sees it. Rejected: a probe row written and deleted (a
 * real write and fsync per probe, and another table in the schema).
 */
import type { GatewayProcedures, LinkId, RegistrationStore } from '@msgin5g/core';

/** One check: whether it passed, and why not. */
export interface ReadinessCheck {
  readonly ok: boolean;
  readonly detail: string;
}

/** Every check by name, and whether all passed. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: {
    readonly registered: ReadinessCheck;
    readonly store: ReadinessCheck;
    readonly links: ReadinessCheck;
    readonly draining: ReadinessCheck;
  };
}

export interface ReadinessProbe {
  /** Runs every check; never rejects. */
  check(): Promise<ReadinessReport>;
}

/** What {@link GatewayReadiness} reads. */
export interface GatewayReadinessDeps {
  readonly procedures: Pick<GatewayProcedures, 'isGatewayRegistered'>;
  readonly store: Pick<RegistrationStore, 'purgeTombstones' | 'sync'>;
  readonly runtime: { readonly unboundLinks: readonly LinkId[]; readonly isStopping: boolean };
}

export class GatewayReadiness implements ReadinessProbe {
  constructor(private readonly deps: GatewayReadinessDeps) {}

  async check(): Promise<ReadinessReport> {
    const registered = this.deps.procedures.isGatewayRegistered
      ? { ok: true, detail: 'the Gateway UE is registered with the MSGin5G Server' }
      : { ok: false, detail: 'the Gateway UE is not registered with the MSGin5G Server (yet)' };
    const store = await this.probeStore();
    const unbound = this.deps.runtime.unboundLinks;
    const links = unbound.length === 0 ? { ok: true, detail: 'every device link is bound' } : { ok: false, detail: `not bound: ${unbound.join(', ')}` };
    const draining = this.deps.runtime.isStopping ? { ok: false, detail: 'the gateway is draining and stopping' } : { ok: true, detail: 'not draining' };
    return { ready: registered.ok && store.ok && links.ok && draining.ok, checks: { registered, store, links, draining } };
  }

  private async probeStore(): Promise<ReadinessCheck> {
    try {
      await this.deps.store.purgeTombstones(0);
      await this.deps.store.sync();
      return { ok: true, detail: 'the store takes writes' };
    } catch (err) {
      const reason = (err as { reason?: unknown }).reason;
      return { ok: false, detail: `the store does not take writes${typeof reason === 'string' ? ` (${reason})` : ''}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}
