import { InMemoryRegistrationStore, registrationStoreContract } from '@msgin5g/core/testing';
import { SqliteRegistrationStore } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

registrationStoreContract('SqliteRegistrationStore(:memory:)', () => SqliteRegistrationStore.open(':memory:'));

describe('over a temp file', () => {
  let dir: TempDir;
  let n = 0;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => {
    dir.remove();
  });
  registrationStoreContract('SqliteRegistrationStore(file, WAL, synchronous FULL, fsync off the loop)', () =>
    SqliteRegistrationStore.open(dir.file(`contract-${++n}.db`)),
  );
  registrationStoreContract('SqliteRegistrationStore(file, WAL, synchronous FULL, fsync in COMMIT)', () =>
    SqliteRegistrationStore.open(dir.file(`contract-${++n}.db`), { fsync: 'in-commit' }),
  );
  registrationStoreContract('SqliteRegistrationStore(file, WAL, synchronous NORMAL)', () =>
    SqliteRegistrationStore.open(dir.file(`contract-${++n}.db`), { synchronous: 'NORMAL' }),
  );
});

// The double the core tests rely on passes the same suite, so it is honest.
registrationStoreContract('InMemoryRegistrationStore', () => new InMemoryRegistrationStore());
