/** A function that declares one test, like Jest's `it(name, fn, timeoutMs)`. */
export type DeclareTest = (name: string, fn: jest.ProvidesCallback, timeoutMs?: number) => void;

/**
 * Jest's `it` when `why` is `undefined`; otherwise a function that declares each test as skipped,
 * its name ending in ` (skipped: <why>)`, so every report (console, `--json`) says why.
 *
 * Decide `why` before the tests are declared (at the top of the file), never inside a test: a test
 * that returns early passes without having checked anything. When skipping, `<what> skipped: <why>`
 * is also written once to stderr (not `console`: Jest drops the console output of a fully skipped
 * suite when several suites run).
 *
 * @param why the reason the tests cannot run here (e.g. from {@link ipv6LoopbackUnavailable}), or `undefined`
 * @param what which tests, for the stderr line (e.g. `'IPv6 tests of UdpDeviceLink'`)
 */
export function itUnless(why: string | undefined, what: string): DeclareTest {
  if (why === undefined) return it;
  process.stderr.write(`${what} skipped: ${why}\n`);
  return (name, fn, timeoutMs) => it.skip(`${name} (skipped: ${why})`, fn, timeoutMs);
}
