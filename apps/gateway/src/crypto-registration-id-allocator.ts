import { randomBytes } from 'node:crypto';
import { must, registrationIdFromOctets, type RegistrationId, type RegistrationIdAllocator } from '@msgin5g/core';

/**
 * Registration IDs of 8 random octets from the OS CSPRNG (wire-formats §1, provisional). Hard to
 * guess, so a device cannot de-register another by counting; a collision with a live or tombstoned
 * ID is rejected by the store and drawn again by the core.
 */
export class CryptoRegistrationIdAllocator implements RegistrationIdAllocator {
  constructor(private readonly octets = 8) {}
  allocate(): RegistrationId {
    return must(registrationIdFromOctets(randomBytes(this.octets)));
  }
}
