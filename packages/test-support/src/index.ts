/**
 * `@msgin5g/test-support`: helpers the repository's Jest tests share. Test code only: no package's
 * `src` depends on it. The coap helper is a separate entry,
 * `@msgin5g/test-support/close-coap-global-agents`, so that this one never loads coap.
 */
export { dropNetRawUnavailable, withoutNetRaw } from './capabilities';
export { ipv6LoopbackUnavailable } from './ipv6';
export { itUnless, type DeclareTest } from './skip';
export {
  LineProcess,
  runChecked,
  runProcess,
  type ExitStatus,
  type LineProcessOptions,
  type OutputStream,
  type RunOptions,
  type RunResult,
  type WaitForLineOptions,
} from './child-process';
export { describeCliBasics } from './cli-basics';
