/**
 * Device authorization (TS 23.554 §8.11.2 pre-condition 1: "UE-1 is configured to recognise and
 * authorise UE-2"). Two `DeviceAuthorizer`s: `open` (every device, logged loudly at start) and a list
 * read from a YAML/JSON file:
 *
 * ```yaml
 * devices:
 *   - layer2Id: "02:00:00:00:00:aa"      # a MAC (L2 link)
 *     applicationIds: [42, "100-199"]
 *     ueServiceId: "sensor-17"           # optional UE Service ID used toward the server
 *   - layer2Id: "192.0.2.0/24"           # CIDR, a bare IP (any port) or ip:port (UDP links)
 *     applicationIds: "*"
 * ```
 * The first entry that matches (Layer-2 ID and Application ID) decides. No match: NOT_AUTHORISED.
 * IP matching uses node's `net.BlockList` rather than a home-made CIDR parser.
 */
import { BlockList, isIP } from 'node:net';
import {
  parseMacLayer2Id,
  parseTransportLayer2Id,
  parseUeServiceId,
  type ApplicationId,
  type AuthorizationDecision,
  type DeviceAuthorizer,
  type Layer2Id,
  type LinkKind,
  type UeServiceId,
} from '@msgin5g/core';
import { z } from 'zod';
import { ConfigError, readStructuredFile } from './config';

/** Accepts every device. */
export class OpenDeviceAuthorizer implements DeviceAuthorizer {
  authorize(): AuthorizationDecision {
    return { allowed: true };
  }
}

const appRange = z.union([
  z.number().int().min(0).max(65535),
  z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'must be an Application ID or a range such as "100-199"'),
]);

const entrySchema = z
  .object({
    // Checked here too, so a bad Layer-2 ID is reported together with every other bad field.
    layer2Id: z
      .string()
      .min(1)
      .superRefine((v, ctx) => {
        const m = layer2Matcher(v);
        if (typeof m === 'string') ctx.addIssue({ code: 'custom', message: m });
      }),
    applicationIds: z.union([z.literal('*'), z.array(appRange).min(1)]).superRefine((v, ctx) => {
      const m = appMatcher(v);
      if (typeof m === 'string') ctx.addIssue({ code: 'custom', message: m });
    }),
    ueServiceId: z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        if (v === undefined) return;
        const u = parseUeServiceId(v);
        if (!u.ok) ctx.addIssue({ code: 'custom', message: u.error });
      }),
  })
  .strict();

/** The file holds `devices: [...]`; a bare list of entries is accepted too (normalised first, so errors name fields, not "invalid union"). */
const fileSchema = z.preprocess((v) => (Array.isArray(v) ? { devices: v } : v), z.object({ devices: z.array(entrySchema) }).strict());

type Layer2Matcher = (link: LinkKind, layer2Id: Layer2Id) => boolean;

interface Rule {
  readonly matchLayer2: Layer2Matcher;
  readonly matchApp: (applicationId: number) => boolean;
  readonly ueServiceId?: UeServiceId;
}

function layer2Matcher(pattern: string): Layer2Matcher | string {
  if (pattern === '*') return () => true;
  const mac = parseMacLayer2Id(pattern);
  if (mac.ok) return (_link, id) => id === mac.value;
  const slash = pattern.lastIndexOf('/');
  if (slash > 0) {
    const net = pattern.slice(0, slash);
    const prefix = Number(pattern.slice(slash + 1));
    const family = isIP(net);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) return `"${pattern}" is not a valid CIDR block`;
    const list = new BlockList();
    list.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
    return (_link, id) => {
      const t = parseTransportLayer2Id(id);
      if (!t.ok) return false;
      const f = isIP(t.value.address);
      return f !== 0 && list.check(t.value.address, f === 4 ? 'ipv4' : 'ipv6');
    };
  }
  const family = isIP(pattern);
  if (family !== 0) {
    const bare = pattern.toLowerCase();
    return (_link, id) => {
      const t = parseTransportLayer2Id(id);
      return t.ok && t.value.address === bare;
    };
  }
  const exact = parseTransportLayer2Id(pattern);
  if (exact.ok) return (_link, id) => id === exact.value.layer2Id;
  return `"${pattern}" is not a MAC, IP address, CIDR block, ip:port or "*"`;
}

function appMatcher(spec: '*' | Array<number | string>): ((a: number) => boolean) | string {
  if (spec === '*') return () => true;
  const ranges: Array<[number, number]> = [];
  for (const item of spec) {
    if (typeof item === 'number') ranges.push([item, item]);
    else {
      const [lo, hi = lo] = item.split('-').map(Number) as [number, number?];
      if (hi === undefined || lo > hi || hi > 65535) return `"${item}" is not a valid Application ID range`;
      ranges.push([lo, hi]);
    }
  }
  return (a) => ranges.some(([lo, hi]) => a >= lo && a <= hi);
}

/** Authorizes devices from a list; first matching entry wins. */
export class ListDeviceAuthorizer implements DeviceAuthorizer {
  constructor(private readonly rules: readonly Rule[]) {}

  get size(): number {
    return this.rules.length;
  }

  authorize(link: LinkKind, layer2Id: Layer2Id, applicationId: ApplicationId): AuthorizationDecision {
    for (const r of this.rules) {
      if (r.matchLayer2(link, layer2Id) && r.matchApp(applicationId)) {
        return r.ueServiceId === undefined ? { allowed: true } : { allowed: true, ueServiceId: r.ueServiceId };
      }
    }
    return { allowed: false };
  }

  /**
   * Reads an authorization list file (YAML or JSON).
   * @throws ConfigError with one line per bad entry.
   */
  static fromFile(path: string): ListDeviceAuthorizer {
    const parsed = readStructuredFile(path, 'authorization:');
    const result = fileSchema.safeParse(parsed);
    if (!result.success) {
      throw new ConfigError(
        result.error.issues.map((i) => {
          const what = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')} (allowed: layer2Id, applicationIds, ueServiceId)` : i.message;
          return `authorization ${path}: ${i.path.join('.') || '(top level)'}: ${what}`;
        }),
      );
    }
    const entries = result.data.devices;
    const problems: string[] = [];
    const rules: Rule[] = [];
    entries.forEach((e, i) => {
      const l2 = layer2Matcher(e.layer2Id);
      const app = appMatcher(e.applicationIds);
      let ueServiceId: UeServiceId | undefined;
      if (e.ueServiceId !== undefined) {
        const u = parseUeServiceId(e.ueServiceId);
        if (u.ok) ueServiceId = u.value;
        else problems.push(`authorization ${path}: devices.${i}.ueServiceId: ${u.error}`);
      }
      if (typeof l2 === 'string') problems.push(`authorization ${path}: devices.${i}.layer2Id: ${l2}`);
      if (typeof app === 'string') problems.push(`authorization ${path}: devices.${i}.applicationIds: ${app}`);
      if (typeof l2 !== 'string' && typeof app !== 'string') rules.push(ueServiceId === undefined ? { matchLayer2: l2, matchApp: app } : { matchLayer2: l2, matchApp: app, ueServiceId });
    });
    if (problems.length > 0) throw new ConfigError(problems);
    return new ListDeviceAuthorizer(rules);
  }
}
