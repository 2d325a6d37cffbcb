import { classifyDgramError } from '@msgin5g/udp-socket';

const place = { host: '127.0.0.1', port: 5690, link: 'UDP device link udp://127.0.0.1:5690' };
const err = (code: string) => Object.assign(new Error(`boom ${code}`), { code });

describe('classifyDgramError', () => {
  it.each([
    ['EADDRINUSE', 'bind', 'BIND', /UDP port 5690 is in use \(UDP device link/],
    ['EACCES', 'bind', 'BIND', /no permission to bind UDP 127\.0\.0\.1:5690/],
    ['EPERM', 'send', 'SEND', /firewall/],
    ['EADDRNOTAVAIL', 'bind', 'BIND', /not configured on this host/],
    ['EADDRNOTAVAIL', 'send', 'BAD_ADDRESS', /cannot send from 127\.0\.0\.1/],
    ['EAFNOSUPPORT', 'send', 'BAD_ADDRESS', /IPv6 disabled/],
    ['ERR_SOCKET_BAD_PORT', 'send', 'BAD_ADDRESS', /invalid address for UDP send/],
    ['ERR_SOCKET_DGRAM_NOT_RUNNING', 'send', 'CLOSED', /is closed/],
    ['EMSGSIZE', 'send', 'SEND', /too large/],
    ['EIO', 'bind', 'BIND', /UDP bind failed on 127\.0\.0\.1:5690 .*boom EIO/],
    ['EIO', 'socket', 'SEND', /UDP socket failed/],
  ] as const)('%s on %s → %s', (code, op, reason, message) => {
    const c = classifyDgramError(err(code), op, place);
    expect(c.reason).toBe(reason);
    expect(c.message).toMatch(message);
  });

  it('reads a thrown non-Error too', () => {
    expect(classifyDgramError('weird', 'send', place)).toEqual({ reason: 'SEND', message: 'UDP send failed on 127.0.0.1:5690 (UDP device link udp://127.0.0.1:5690): weird' });
  });
});
