/**
 * The `ServerLink` contract suite, run against the CoAP adapter with the reference MSGin5G Server
 * over real CoAP on loopback, and against `FakeServerLink` (so the double the core tests rely on is
 * proven to behave like the real link).
 */
import type { ServerLinkHarness } from '@msgin5g/core/testing';
import { FakeServerLink, serverLinkContract } from '@msgin5g/core/testing';
import { createReferenceServer } from '@msgin5g/server';
import { CoapServerLink } from '@msgin5g/coap-server-link';

const DEADLINE_MS = 1500;

serverLinkContract('CoapServerLink + reference server', async (): Promise<ServerLinkHarness> => {
  const server = createReferenceServer({ host: '127.0.0.1', port: 0 });
  const { port } = await server.start();
  const link = new CoapServerLink({ uri: `coap://127.0.0.1:${port}/msgin5g`, deadlineMs: DEADLINE_MS });
  return {
    link,
    deadlineMs: DEADLINE_MS,
    script(answer) {
      switch (answer.kind) {
        case 'NORMAL':
          server.faults.clear();
          return;
        case 'FAILURE':
          server.faults.add({ fault: { kind: 'fail', failureCause: answer.failureCause }, count: 1 });
          return;
        case 'SILENT':
          server.faults.add('drop*1');
          return;
      }
    },
    stall: () => server.faults.add('drop*1'),
    isRegistered: async (id) => server.registry.has(id),
    teardown: () => server.stop(),
  };
});

serverLinkContract('FakeServerLink', async (): Promise<ServerLinkHarness> => {
  const link = new FakeServerLink();
  return {
    link,
    deadlineMs: DEADLINE_MS,
    script(answer) {
      switch (answer.kind) {
        case 'NORMAL':
          return;
        case 'FAILURE':
          link.answerNext({ kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: `FAILURE ${answer.failureCause}` });
          return;
        case 'SILENT':
          link.answerNext({ kind: 'NEVER' });
          return;
      }
    },
    stall: () => void link.hold(),
    isRegistered: async (id) => link.registry.has(id),
    teardown: async () => undefined,
  };
});
