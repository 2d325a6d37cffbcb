import type { RegistrationId } from '../ids';
import type { RegistrationIdAllocator } from '../ports/registration-id-allocator';

/** Deterministic allocator for tests: `0000000000000001`, `…02`, … (8 octets). Optional fixed list first. */
export class SequenceRegistrationIdAllocator implements RegistrationIdAllocator {
  private next = 1;
  constructor(private readonly fixed: RegistrationId[] = []) {}
  allocate(): RegistrationId {
    const f = this.fixed.shift();
    if (f !== undefined) return f;
    return (this.next++).toString(16).padStart(16, '0') as RegistrationId;
  }
}
