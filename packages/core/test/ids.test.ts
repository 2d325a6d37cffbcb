import fc from 'fast-check';
import {
  parseLinkId,
  parseLinkKind,
  parseApplicationId,
  parseMacLayer2Id,
  parseRegistrationId,
  parseTransportLayer2Id,
  parseUeServiceId,
  registrationIdFromOctets,
  registrationIdOctets,
  transportLayer2Id,
} from '@msgin5g/core';

describe('branded ids', () => {
  it('Application ID: 0..65535 from numbers and decimal strings only', () => {
    expect(parseApplicationId(42)).toEqual({ ok: true, value: 42 });
    expect(parseApplicationId('65535')).toEqual({ ok: true, value: 65535 });
    for (const bad of [-1, 65536, 1.5, NaN, '042', '', ' 1', '1e3', '65536']) expect(parseApplicationId(bad).ok).toBe(false);
  });

  it('Registration ID: 1..16 octets of hex, canonical lower case; octets round trip', () => {
    expect(parseRegistrationId('00112233445566AA')).toEqual({ ok: true, value: '00112233445566aa' });
    for (const bad of ['', '0', 'zz', 'a'.repeat(34), '0011 22']) expect(parseRegistrationId(bad).ok).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 16 }), (octets) => {
        const id = registrationIdFromOctets(octets);
        return id.ok && Buffer.from(registrationIdOctets(id.value)).equals(Buffer.from(octets));
      }),
    );
    expect(registrationIdFromOctets(new Uint8Array(17)).ok).toBe(false);
    expect(registrationIdFromOctets(new Uint8Array(0)).ok).toBe(false);
  });

  it('Layer-2 ID of a MAC: colon, dash or bare hex; canonical 12 lower-case hex characters', () => {
    expect(parseMacLayer2Id('02:00:00:00:00:AA')).toEqual({ ok: true, value: '0200000000aa' });
    expect(parseMacLayer2Id('02-00-00-00-00-aa')).toEqual({ ok: true, value: '0200000000aa' });
    expect(parseMacLayer2Id('0200000000aa')).toEqual({ ok: true, value: '0200000000aa' });
    for (const bad of ['02:00:00:00:00', '02:00:00:00:00:aa:bb', 'zz0000000000']) expect(parseMacLayer2Id(bad).ok).toBe(false);
  });

  it('Layer-2 ID of a UDP source: ip:port, IPv6 bracketed; parses back', () => {
    expect(transportLayer2Id('192.0.2.7', 40000)).toEqual({ ok: true, value: '192.0.2.7:40000' });
    expect(transportLayer2Id('2001:DB8::7', 5)).toEqual({ ok: true, value: '[2001:db8::7]:5' });
    expect(transportLayer2Id('1.2.3.4', 0).ok).toBe(false);
    expect(parseTransportLayer2Id('[::1]:5691')).toMatchObject({ ok: true, value: { address: '::1', port: 5691 } });
    expect(parseTransportLayer2Id('127.0.0.1:99999').ok).toBe(false);
    expect(parseTransportLayer2Id('nope').ok).toBe(false);
  });

  it('UE Service ID: 1..256 printable characters', () => {
    expect(parseUeServiceId('gw-1').ok).toBe(true);
    expect(parseUeServiceId('').ok).toBe(false);
    expect(parseUeServiceId('a\nb').ok).toBe(false);
    expect(parseUeServiceId('x'.repeat(257)).ok).toBe(false);
  });
});

describe('link kinds and link instance ids (an open set)', () => {
  it('accepts lower-case names a link package or an operator would choose', () => {
    for (const s of ['udp', 'l2', 'coap', 'serial', 'udp-2', 'lora-eu868', 'a']) {
      expect(parseLinkKind(s)).toEqual({ ok: true, value: s });
      expect(parseLinkId(s)).toEqual({ ok: true, value: s });
    }
  });
  it('refuses anything else with the rule in the message', () => {
    for (const s of ['', 'UDP', '2udp', 'udp 2', 'udp_2', 'serial:/dev/ttyS0', 'x'.repeat(33), '-udp']) {
      const k = parseLinkKind(s);
      const i = parseLinkId(s);
      expect(k.ok).toBe(false);
      expect(i.ok).toBe(false);
      if (!i.ok) expect(i.error).toMatch(/lower-case letter then up to 31/);
    }
  });
});
