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

/**
 * The Layer-2 ID syntax of a link whose IDs are a prefixed `ip:port` (`tcp:192.0.2.7:40000`, for a
 * link kind `tcp`): the same addresses and patterns as {@link transportLayer2Ids}, each written
 * after `<prefix>:` (`tcp:192.0.2.7:40000`, `tcp:192.0.2.7`, `tcp:192.0.2.0/24`). Text without the
 * prefix is not of this syntax.
 * @throws TypeError when `prefix` is not a lower-case name (a link kind).
 */
export function prefixedTransportLayer2Ids(prefix: string): Layer2IdSyntax {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(prefix)) throw new TypeError(`prefix must be a link kind such as "tcp", got ${JSON.stringify(prefix)}`);
  const head = `${prefix}:`;
  const strip = (id: string): string | undefined => (id.startsWith(head) ? id.slice(head.length) : undefined);
  return {
    form: `${head}ip:port (${head}192.0.2.7:40000); patterns: ${head}ip:port, ${head}IP, ${head}CIDR`,
    parse(text) {
      const rest = strip(text);
      if (rest === undefined) return { ok: false, error: `a ${prefix} Layer-2 ID starts with "${head}", got ${JSON.stringify(text)}` };
      const t = transportLayer2Ids.parse(rest);
      return t.ok ? { ok: true, value: `${head}${t.value}` as Layer2Id } : t;
    },
    pattern(text) {
      const rest = strip(text);
      if (rest === undefined) return undefined;
      const inner = transportLayer2Ids.pattern(rest);
      if (inner === undefined) return { ok: false, error: `"${text}" is not ${head}ip:port, ${head}IP or ${head}CIDR` };
      if (!inner.ok) return inner;
      const match = inner.value;
      return {
        ok: true,
        value: (id) => {
          const r = strip(id);
          return r !== undefined && match(r as Layer2Id);
        },
      };
    },
  };
}
