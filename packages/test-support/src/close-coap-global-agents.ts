/**
 * coap 1.5.0 opens `globalAgent` and `globalAgentIPv6` (unbound UDP sockets) when it is imported,
 * and Jest then reports open handles. Import this module for its effect (or list it in
 * `setupFilesAfterEnv`): it registers an `afterAll` that closes both agents. Tests that use the
 * global agents themselves can still use them: they are closed only after the file's last test.
 *
 * Kept out of the package's main entry so that importing `@msgin5g/test-support` never loads coap.
 * It closes the agents of the one coap copy in the workspace (pnpm links every `coap@1.5.0` to the
 * same folder, so Jest loads it once per test file).
 */
import { globalAgent, globalAgentIPv6 } from 'coap';

/**
 * Closes coap's two global agents now. Idempotent: `close()` throws ERR_SOCKET_DGRAM_NOT_RUNNING
 * when an agent already closed its idle socket, and that is ignored.
 */
export function closeCoapGlobalAgents(): void {
  for (const agent of [globalAgent, globalAgentIPv6]) {
    try {
      agent.close();
    } catch {
      // already closed
    }
  }
}

afterAll(closeCoapGlobalAgents);
