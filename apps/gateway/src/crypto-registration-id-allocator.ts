import { randomFillSync } from 'node:crypto';
import { must, registrationIdFromOctets, type RegistrationId, type RegistrationIdAllocator } from '@msgin5g/core';

/** Octets drawn from the OS CSPRNG at a time; IDs are cut from this pool. */
const POOL_OCTETS = 4096;

/**
 * Registration IDs of 8 random octets from the OS CSPRNG (docs/wire-formats.md §1, provisional). Hard to
 * guess, so a device cannot de-register another by counting; a collision with a live or tombstoned
 * ID is rejected by the store and drawn again by the core.
 *
 * The octets come from a pool refilled 4 KiB at a time (one system call per 512 IDs instead of one
 * per ID: `randomBytes` per ID was ~3% of gateway CPU under load). Every octet is used once.
 */
export class CryptoRegistrationIdAllocator implements RegistrationIdAllocator {
  private readonly pool: Buffer;
  private offset: number;

  /** @throws RangeError unless `octets` is 1..16 (docs/wire-formats.md §1). */
  constructor(private readonly octets = 8) {
    if (!Number.isInteger(octets) || octets < 1 || octets > 16) throw new RangeError(`octets must be 1..16, got ${octets}`);
    this.pool = Buffer.alloc(POOL_OCTETS - (POOL_OCTETS % octets));
    this.offset = this.pool.length;
  }

  allocate(): RegistrationId {
    if (this.offset + this.octets > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const id = must(registrationIdFromOctets(this.pool.subarray(this.offset, this.offset + this.octets)));
    this.offset += this.octets;
    return id;
  }
}
