import { messageStoreContract, type MessageStoreHarness } from '@msgin5g/core/testing';
import { SqliteRegistrationStore, type SqliteRegistrationStoreOptions } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

/** The message store of a registration store, with that store's sync() and close(). */
interface SqliteHarness extends MessageStoreHarness {
  readonly file: string;
}

function harness(file: string, options: SqliteRegistrationStoreOptions): SqliteHarness {
  const registrations = SqliteRegistrationStore.open(file, options);
  return { file, store: registrations.messages, sync: () => registrations.sync(), close: () => registrations.close() };
}

messageStoreContract('SqliteMessageStore(:memory:)', () => harness(':memory:', {}));

describe('over a temp file', () => {
  let dir: TempDir;
  let n = 0;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => {
    dir.remove();
  });
  const variants: Array<[string, SqliteRegistrationStoreOptions]> = [
    ['WAL, synchronous FULL, fsync off the loop', {}],
    ['WAL, synchronous FULL, fsync in COMMIT', { fsync: 'in-commit' }],
    ['WAL, synchronous NORMAL', { synchronous: 'NORMAL' }],
  ];
  for (const [label, options] of variants) {
    messageStoreContract(
      `SqliteMessageStore(file, ${label})`,
      () => harness(dir.file(`messages-${++n}.db`), options),
      (closed) => harness(closed.file, options),
    );
  }
});
