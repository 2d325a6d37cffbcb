/**
 * `RegistrationStore` in process memory, for `--store memory` and as the store double of core tests.
 */
import type { ApplicationId, Layer2Id, LinkId, RegistrationId, UeServiceId } from './ids';
import { RegistrationStoreError, checkPageLimit, type RegistrationFilter, type RegistrationStore, type StateLinkCount } from './ports/registration-store';
import type { GatewayDeregistrationCause, Registration, RegistrationState, Tombstone } from './registration';

const deviceKey = (link: LinkId, layer2Id: Layer2Id, applicationId: ApplicationId) => `${link}|${layer2Id}|${applicationId}`;

/**
 * `RegistrationStore` in process memory (`--store memory`, and the double core tests rely on; it
 * passes the same contract suite as the SQLite store). Lost on exit.
 */
export class InMemoryRegistrationStore implements RegistrationStore {
  private readonly byId = new Map<RegistrationId, Registration>();
  private readonly byDevice = new Map<string, RegistrationId>();
  private readonly tombstones = new Map<RegistrationId, Tombstone>();
  private closed = false;

  private check(): void {
    if (this.closed) throw new RegistrationStoreError('CLOSED', 'store is closed');
  }

  async insert(registration: Registration): Promise<Registration> {
    this.check();
    const key = deviceKey(registration.link, registration.layer2Id, registration.applicationId);
    if (this.byId.has(registration.registrationId) || this.tombstones.has(registration.registrationId)) {
      throw new RegistrationStoreError('DUPLICATE', `Registration ID ${registration.registrationId} is taken`);
    }
    if (this.byDevice.has(key)) throw new RegistrationStoreError('DUPLICATE', `device ${key} is already registered`);
    this.byId.set(registration.registrationId, registration);
    this.byDevice.set(key, registration.registrationId);
    return registration;
  }

  async get(registrationId: RegistrationId): Promise<Registration | undefined> {
    this.check();
    return this.byId.get(registrationId);
  }

  async findByDevice(link: LinkId, layer2Id: Layer2Id, applicationId: ApplicationId): Promise<Registration | undefined> {
    this.check();
    const id = this.byDevice.get(deviceKey(link, layer2Id, applicationId));
    return id === undefined ? undefined : this.byId.get(id);
  }

  async findByApplicationId(applicationId: ApplicationId): Promise<Registration[]> {
    this.check();
    return [...this.byId.values()].filter((r) => r.applicationId === applicationId);
  }

  async findByLayer2Id(link: LinkId, layer2Id: Layer2Id): Promise<Registration[]> {
    this.check();
    return [...this.byId.values()].filter((r) => r.link === link && r.layer2Id === layer2Id).sort((a, b) => a.createdAt - b.createdAt);
  }

  async findByUeServiceId(ueServiceId: UeServiceId): Promise<Registration | undefined> {
    this.check();
    for (const r of this.byId.values()) if (r.ueServiceId === ueServiceId) return r;
    return undefined;
  }

  async transition(registrationId: RegistrationId, from: RegistrationState, to: RegistrationState, now: number, cause?: GatewayDeregistrationCause): Promise<Registration | undefined> {
    this.check();
    const r = this.byId.get(registrationId);
    if (r === undefined || r.state !== from) return undefined;
    const { deregistrationCause: _previous, ...rest } = r;
    const next: Registration = cause === undefined || to !== 'DEREGISTERING' ? { ...rest, state: to, updatedAt: now } : { ...rest, state: to, updatedAt: now, deregistrationCause: cause };
    this.byId.set(registrationId, next);
    return next;
  }

  async remove(registrationId: RegistrationId, tombstone?: Tombstone): Promise<Registration | undefined> {
    this.check();
    const r = this.byId.get(registrationId);
    if (r === undefined) return undefined;
    this.byId.delete(registrationId);
    this.byDevice.delete(deviceKey(r.link, r.layer2Id, r.applicationId));
    if (tombstone !== undefined) this.tombstones.set(registrationId, tombstone);
    return r;
  }

  async getTombstone(registrationId: RegistrationId, now: number): Promise<Tombstone | undefined> {
    this.check();
    const t = this.tombstones.get(registrationId);
    return t !== undefined && t.expiresAt > now ? t : undefined;
  }

  async purgeTombstones(now: number): Promise<number> {
    this.check();
    let n = 0;
    for (const [id, t] of this.tombstones) {
      if (t.expiresAt <= now) {
        this.tombstones.delete(id);
        n++;
      }
    }
    return n;
  }

  async list(states?: readonly RegistrationState[]): Promise<Registration[]> {
    this.check();
    const all = [...this.byId.values()].filter((r) => states === undefined || states.includes(r.state));
    return all.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Filters and sorts every record per call: fine for tests and `--store memory`, not an index. */
  async page(filter: RegistrationFilter, after: RegistrationId | undefined, limit: number): Promise<Registration[]> {
    this.check();
    checkPageLimit(limit);
    const matching = [...this.byId.values()].filter(
      (r) =>
        (after === undefined || r.registrationId > after) &&
        (filter.link === undefined || r.link === filter.link) &&
        (filter.applicationId === undefined || r.applicationId === filter.applicationId) &&
        (filter.state === undefined || r.state === filter.state),
    );
    return matching.sort((a, b) => (a.registrationId < b.registrationId ? -1 : a.registrationId > b.registrationId ? 1 : 0)).slice(0, limit);
  }

  async count(): Promise<number> {
    this.check();
    return this.byId.size;
  }

  async countByStateAndLink(): Promise<StateLinkCount[]> {
    this.check();
    const counts = new Map<string, StateLinkCount>();
    for (const r of this.byId.values()) {
      const key = `${r.state}|${r.link}`;
      counts.set(key, { state: r.state, link: r.link, count: (counts.get(key)?.count ?? 0) + 1 });
    }
    return [...counts.values()];
  }

  async refreshExpiry(registrationId: RegistrationId, expiresAt: number, now: number): Promise<Registration | undefined> {
    this.check();
    const r = this.byId.get(registrationId);
    if (r === undefined || r.state !== 'REGISTERED') return undefined;
    const next: Registration = { ...r, expiresAt, updatedAt: now };
    this.byId.set(registrationId, next);
    return next;
  }

  /**
   * A scan of every record (the double keeps no expiry index; `--store memory` is for tests and
   * demos). Stable for equal `expiresAt`: insertion order.
   */
  async dueExpiries(now: number, limit: number): Promise<Registration[]> {
    this.check();
    const due = [...this.byId.values()].filter((r) => r.state === 'REGISTERED' && r.expiresAt <= now);
    return due.sort((a, b) => a.expiresAt - b.expiresAt).slice(0, Math.max(0, limit));
  }

  async nextExpiry(): Promise<number | undefined> {
    this.check();
    let next: number | undefined;
    for (const r of this.byId.values()) if (r.state === 'REGISTERED' && (next === undefined || r.expiresAt < next)) next = r.expiresAt;
    return next;
  }

  /** Writes in memory are as durable as they will ever be: resolves at once. @throws `CLOSED` after close. */
  async sync(): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
