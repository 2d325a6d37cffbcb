/**
 * Port `RegistrationIdAllocator`: fresh Registration IDs (seed CR: allocated by the Gateway UE).
 * The production allocator draws 8 octets from a CSPRNG; the core retries on the rare collision
 * the store reports, so an allocator need not remember what it gave out.
 */
import type { RegistrationId } from '../ids';

export interface RegistrationIdAllocator {
  allocate(): RegistrationId;
}
