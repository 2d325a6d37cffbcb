import { ServerLinkError } from '@msgin5g/core';
import { parseServerUri } from '@msgin5g/coap-server-link';

describe('parseServerUri', () => {
  it('reads host, port, family, Uri-Path and the normal form', () => {
    const u = parseServerUri('coap://127.0.0.1:5683/msgin5g');
    expect(u).toMatchObject({ host: '127.0.0.1', port: 5683, family: 4, endpoint: 'coap://127.0.0.1:5683/msgin5g' });
    expect(u.uriPath).toEqual([Buffer.from('msgin5g')]);
    expect(u.uriQuery).toEqual([]);
  });

  it('defaults the port to 5683 (RFC 7252 §6.1)', () => {
    expect(parseServerUri('coap://server.example/msgin5g')).toMatchObject({ host: 'server.example', port: 5683, family: 4, endpoint: 'coap://server.example:5683/msgin5g' });
  });

  it('takes IPv6 literals in brackets and selects UDP/IPv6', () => {
    expect(parseServerUri('coap://[::1]:5684/msgin5g')).toMatchObject({ host: '::1', port: 5684, family: 6, endpoint: 'coap://[::1]:5684/msgin5g' });
  });

  it('splits and percent-decodes path segments and query arguments (RFC 7252 §6.4)', () => {
    const u = parseServerUri('coap://h/a%20b/c/?x=1&y=%26');
    expect(u.uriPath.map(String)).toEqual(['a b', 'c']);
    expect(u.uriQuery.map(String)).toEqual(['x=1', 'y=&']);
  });

  it.each([
    ['', 'non-empty'],
    ['not a uri', 'not a URI'],
    ['http://127.0.0.1/msgin5g', 'scheme must be coap'],
    ['coaps://127.0.0.1/msgin5g', 'coaps'],
    ['coap:///msgin5g', 'host is missing'],
    ['coap://127.0.0.1:0/msgin5g', 'port must be 1..65535'],
    ['coap://127.0.0.1:70000/msgin5g', 'not a URI'],
    ['coap://127.0.0.1', 'path is empty'],
    ['coap://127.0.0.1/', 'path is empty'],
    ['coap://127.0.0.1/msgin5g#frag', 'fragment'],
    ['coap://user@127.0.0.1/msgin5g', 'user information'],
    ['coap://127.0.0.1/%E0%A4%A', 'percent-encoding'],
    [`coap://127.0.0.1/${'x'.repeat(256)}`, 'at most 255'],
  ])('refuses %j with ServerLinkError CONFIG (%s)', (uri, why) => {
    let error: unknown;
    try {
      parseServerUri(uri);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ServerLinkError);
    expect(error).toMatchObject({ reason: 'CONFIG' });
    expect((error as Error).message).toContain(why);
  });
});
