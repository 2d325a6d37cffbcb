import type { RegistrationStore } from '@msgin5g/core';

/**
 * The reading half of {@link RegistrationStore}, for admin commands that inspect a gateway's store
 * (possibly while the gateway runs) and must never change it.
 */
export type ReadOnlyRegistrationStore = Pick<
  RegistrationStore,
  'get' | 'findByDevice' | 'findByApplicationId' | 'getTombstone' | 'list' | 'page' | 'count' | 'close'
>;
