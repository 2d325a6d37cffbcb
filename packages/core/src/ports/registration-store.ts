/**
 * Port `RegistrationStore`: the gateway's mappings (Application ID ↔ Layer-2 ID, with Registration ID
 * and state) and the tombstones of finished de-registrations.
 *
 * Contract:
 * - Uniqueness on `registrationId` and on (`link`, `layer2Id`, `applicationId`) across live records;
 *   a Registration ID that has a tombstone cannot be inserted again. Violations reject with
 *   {@link RegistrationStoreError} reason `DUPLICATE` and change nothing.
 * - Every write is atomic. When its promise resolves the write is *applied*: every later call on this
 *   store sees it. It is *durable* (survives a crash) once a `sync()` called after it resolves.
 *   "Persist, then act": nothing that depends on a write (a response to a device, a POST) may happen
 *   before that `sync()`. This lets an adapter commit many writes at once (group commit); an adapter
 *   whose writes are durable on their own resolves `sync()` at once.
 * - A write that rejects changes nothing, and leaves the writes applied before it in place.
 * - If writes that were applied cannot be made durable, `sync()` rejects and those writes are undone
 *   (all of them since the last successful `sync()`); later calls see the state before them.
 * - Transitions return the record they produced or removed, never a bare boolean; a transition whose
 *   `from` state does not match the stored one changes nothing and resolves `undefined`.
 * - `remove` deletes the mapping and writes the tombstone in one transaction (seed CR step d).
 * - Contention (another writer holds the lock) rejects with reason `BUSY` within a short bound;
 *   other storage failures reject with `IO`. After `close()`, calls reject with `CLOSED`.
 */
import type { ApplicationId, Layer2Id, LinkId, RegistrationId, UeServiceId } from '../ids';
import type { GatewayDeregistrationCause, Registration, RegistrationState, Tombstone } from '../registration';

/** Which records {@link RegistrationStore.page} returns: every given field must match; none given = all. */
export interface RegistrationFilter {
  readonly link?: LinkId;
  readonly applicationId?: ApplicationId;
  readonly state?: RegistrationState;
}

/** One row of {@link RegistrationStore.countByStateAndLink}. */
export interface StateLinkCount {
  readonly state: RegistrationState;
  readonly link: LinkId;
  readonly count: number;
}

export interface RegistrationStore {
  insert(registration: Registration): Promise<Registration>;
  get(registrationId: RegistrationId): Promise<Registration | undefined>;
  findByDevice(link: LinkId, layer2Id: Layer2Id, applicationId: ApplicationId): Promise<Registration | undefined>;
  /** Live records with this Application ID on any Layer-2 ID (for APPLICATION_ID_IN_USE). */
  findByApplicationId(applicationId: ApplicationId): Promise<Registration[]>;
  /**
   * Live records of one Layer-2 ID on one link instance, ordered by `createdAt`: the sender of a
   * message that names no Application ID (docs/wire-formats.md §5.2). An index range (SQLite: the
   * unique (link, layer2_id, application_id) index).
   */
  findByLayer2Id(link: LinkId, layer2Id: Layer2Id): Promise<Registration[]>;
  /**
   * The live record whose `ueServiceId` this is, if any: the recipient of a message from the server
   * (docs/wire-formats.md §5.4). One index probe (SQLite).
   */
  findByUeServiceId(ueServiceId: UeServiceId): Promise<Registration | undefined>;
  /**
   * Compare-and-set of the state; `now` in ms since the epoch. `cause` records that the gateway
   * started a de-registration (`to` DEREGISTERING; `Registration.deregistrationCause`); every
   * transition without one clears it.
   */
  transition(registrationId: RegistrationId, from: RegistrationState, to: RegistrationState, now: number, cause?: GatewayDeregistrationCause): Promise<Registration | undefined>;
  /** Deletes the record; writes `tombstone` in the same transaction when given. Resolves the removed record. */
  remove(registrationId: RegistrationId, tombstone?: Tombstone): Promise<Registration | undefined>;
  /** The tombstone of this Registration ID if it has not expired at `now` (ms). */
  getTombstone(registrationId: RegistrationId, now: number): Promise<Tombstone | undefined>;
  /** Deletes tombstones expired at `now`; resolves how many. */
  purgeTombstones(now: number): Promise<number>;
  /** Records in the given states (all when omitted), ordered by `createdAt`. */
  list(states?: readonly RegistrationState[]): Promise<Registration[]>;
  /**
   * One page of the records matching `filter`, ordered by Registration ID (the order of its hex
   * text, which is the order of its octets for IDs of one length): at most `limit` records whose
   * Registration ID is greater than `after` (from the first when `after` is undefined). The next
   * page starts after the last record returned; a page shorter than `limit` is the last. For the
   * admin API's `GET /devices` (docs/architecture.md §5): an adapter must find a page from its
   * `after` without reading the records before it (SQLite: the primary-key index).
   * @param limit records per page, an integer ≥ 1.
   * @throws RangeError when `limit` is not an integer ≥ 1.
   */
  page(filter: RegistrationFilter, after: RegistrationId | undefined, limit: number): Promise<Registration[]>;
  count(): Promise<number>;
  /**
   * How many records each (state, link instance) pair holds; pairs with none are left out. For
   * metrics: one aggregate read (an index scan in SQLite), never a list of records.
   */
  countByStateAndLink(): Promise<StateLinkCount[]>;
  /**
   * Sets `expiresAt` (ms since the epoch) of a REGISTERED record, `updatedAt` to `now`: a refreshed
   * lifetime (docs/adr/0011-registration-lifetime.md). Resolves the updated record; `undefined`, and
   * nothing changed, when there is no such record or it is not REGISTERED.
   */
  refreshExpiry(registrationId: RegistrationId, expiresAt: number, now: number): Promise<Registration | undefined>;
  /**
   * REGISTERED records whose `expiresAt` ≤ `now` (ms), earliest first, at most `limit` (≥ 1). For the
   * expiry scheduler: an index range (SQLite), never a scan of every record.
   */
  dueExpiries(now: number, limit: number): Promise<Registration[]>;
  /** The earliest `expiresAt` of any REGISTERED record (ms since the epoch), `undefined` when there is none. One index probe (SQLite). */
  nextExpiry(): Promise<number | undefined>;
  /**
   * Resolves once every write applied before this call is durable; rejects with `BUSY` or `IO` if
   * they could not be made durable (they are then undone). Cheap when nothing is pending.
   */
  sync(): Promise<void>;
  /** Makes pending writes durable (as `sync()`), then releases the storage. */
  close(): Promise<void>;
}

/** Checks the `limit` of {@link RegistrationStore.page}, for adapters. @throws RangeError unless an integer ≥ 1. */
export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`page limit must be an integer >= 1, got ${limit}`);
}

export type RegistrationStoreErrorReason = 'DUPLICATE' | 'BUSY' | 'IO' | 'CLOSED';

/** The one error class of the `RegistrationStore` port; built by each adapter's classify function. */
export class RegistrationStoreError extends Error {
  override readonly name = 'RegistrationStoreError';
  constructor(
    readonly reason: RegistrationStoreErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
