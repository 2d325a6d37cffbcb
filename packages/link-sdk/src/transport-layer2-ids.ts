/**
 * The Layer-2 ID syntax of links whose devices are known by a UDP source address (the UDP link,
 * docs/wire-formats.md §3.2, and the CoAP device link, §3.3): `192.0.2.7:40000`, `[2001:db8::7]:40000`.
 * Authorization patterns: `ip:port` (one device), a bare IP (any port), a CIDR block.
 * IP matching uses node's `net.BlockList` rather than a home-made CIDR parser.
 */
import { BlockList, isIP } from 'node:net';
import { parseTransportLayer2Id, type Layer2Id, type Parsed } from '@msgin5g/core';
import type { Layer2IdMatcher, Layer2IdSyntax } from './device-link-descriptor';

function addressOf(id: Layer2Id): string | undefined {
  const t = parseTransportLayer2Id(id);
  return t.ok ? t.value.address : undefined;
}

function cidr(pattern: string): Parsed<Layer2IdMatcher> | undefined {
  const slash = pattern.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const net = pattern.slice(0, slash);
  const family = isIP(net);
  if (family === 0) return undefined;
  const prefixText = pattern.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
    return { ok: false, error: `"${pattern}" is not a valid CIDR block (prefix 0..${family === 4 ? 32 : 128})` };
  }
  const list = new BlockList();
  list.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return {
    ok: true,
    value: (id) => {
      const a = addressOf(id);
      const f = a === undefined ? 0 : isIP(a);
      return a !== undefined && f !== 0 && list.check(a, f === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** Layer-2 IDs that are UDP source addresses (`ip:port`); shared by every UDP-based link. */
export const transportLayer2Ids: Layer2IdSyntax = {
  form: 'ip:port or [ipv6]:port (192.0.2.7:40000); patterns: ip:port, a bare IP, a CIDR block',
  parse(text) {
    const t = parseTransportLayer2Id(text);
    return t.ok ? { ok: true, value: t.value.layer2Id } : t;
  },
  pattern(text) {
    const block = cidr(text);
    if (block !== undefined) return block;
    if (isIP(text) !== 0) {
      const bare = text.toLowerCase();
      return { ok: true, value: (id) => addressOf(id) === bare };
    }
    const exact = parseTransportLayer2Id(text);
    if (exact.ok) return { ok: true, value: (id) => id === exact.value.layer2Id };
    return undefined;
  },
};
