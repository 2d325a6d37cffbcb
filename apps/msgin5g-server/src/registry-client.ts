/**
 * Reads the reference server's registry (`GET /registry`, 2.05 `{"ueServiceIds":[…]}`) with a
 * confirmable CoAP request from a private agent, closed afterwards so nothing keeps the process
 * alive. For the demo and end-to-end tests, which check that the server and the gateway agree.
 */
import { Agent } from 'coap';
import { REGISTRY_URI_PATH } from './request-target';

/**
 * The UE Service IDs the server holds, sorted.
 * @throws Error when no 2.05 answer arrives within `timeoutMs` (ms) or the body is not the registry.
 */
export function fetchRegistry(target: { host: string; port: number }, timeoutMs = 5000): Promise<string[]> {
  const agent = new Agent({ type: target.host.includes(':') ? 'udp6' : 'udp4' });
  const close = () => {
    try {
      agent.close();
    } catch {
      // the agent already closed its idle socket
    }
  };
  return new Promise<string[]>((resolve, reject) => {
    const req = agent.request({ hostname: target.host, port: target.port, method: 'GET', pathname: `/${REGISTRY_URI_PATH}` });
    const timer = setTimeout(() => {
      reject(new Error(`no answer to GET /${REGISTRY_URI_PATH} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      try {
        const body = JSON.parse(res.payload.toString('utf8')) as { ueServiceIds?: unknown };
        if (res.code !== '2.05' || !Array.isArray(body.ueServiceIds)) throw new Error(`unexpected answer ${res.code}`);
        resolve(body.ueServiceIds.map(String));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    req.on('error', (err: unknown) => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
    req.end();
  }).finally(close);
}
