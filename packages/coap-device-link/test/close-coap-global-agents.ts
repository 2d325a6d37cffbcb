/**
 * coap 1.5.0 opens `globalAgent` and `globalAgentIPv6` (unbound UDP sockets) when it is imported.
 * The tests use their own agents; close the global ones so Jest sees no open handle. `close()`
 * throws ERR_SOCKET_DGRAM_NOT_RUNNING if an agent already closed its idle socket, hence the guard.
 */
import { globalAgent, globalAgentIPv6 } from 'coap';

afterAll(() => {
  for (const agent of [globalAgent, globalAgentIPv6]) {
    try {
      agent.close();
    } catch {
      // already closed
    }
  }
});
