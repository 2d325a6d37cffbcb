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
 *     lifetimeS: 600                     # optional registration lifetime, s (docs/adr/0011)
 *   - layer2Id: "*"                      # per Application ID: any device with app 7
 *     applicationIds: [7]
 *     lifetimeS: 3600
 *   - layer2Id: "192.0.2.0/24"           # CIDR, a bare IP (any port) or ip:port (UDP links)
 *     applicationIds: "*"
 * ```
 * The first entry that matches (Layer-2 ID and Application ID) decides. No match: NOT_AUTHORISED.
 * `lifetimeS` replaces the gateway's `--registration-lifetime-s` for the devices the entry
 * matches: what they get when they ask none, and the most they may ask.
 * What a `layer2Id` pattern may be comes from the device links' descriptors (src/links.ts): each
 * link kind reads the patterns of its own Layer-2 ID syntax (a MAC for `l2`; ip:port, an IP or a
 * CIDR block for `udp` and `coap`; `serial:PATH` for `serial`, …), and a pattern matches a request
 * only when the link instance it came in on is of a kind that read it.
 */
import {
  parseUeServiceId,
  type ApplicationId,
  type AuthorizationDecision,
  type DeviceAuthorizer,
  type Layer2Id,
  type LinkId,
  type LinkKind,
  type UeServiceId,
  LIFETIME_S_MAX,
} from '@msgin5g/core';
import type { AnyDeviceLinkDescriptor, Layer2IdMatcher } from '@msgin5g/link-sdk';
import { z } from 'zod';
import { ConfigError, readStructuredFile } from './config';
import { DEVICE_LINKS } from './links';

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

/** What the list needs to know of the running links: their Layer-2 ID syntaxes, and each instance's kind. */
export interface AuthorizationLinks {
  readonly descriptors: readonly AnyDeviceLinkDescriptor[];
  /** The kind of a link instance id; unknown ids match only `*` entries. */
  kindOf(link: LinkId): LinkKind | undefined;
}

/** The built-in links, each instance named by its kind (tests, and lists read without a config). */
export const DEFAULT_AUTHORIZATION_LINKS: AuthorizationLinks = {
  descriptors: DEVICE_LINKS,
  kindOf: (link) => DEVICE_LINKS.find((d) => d.kind === link)?.kind,
};

function entrySchema(links: AuthorizationLinks) {
  return z
    .object({
      // Checked here too, so a bad Layer-2 ID is reported together with every other bad field.
      layer2Id: z
        .string()
        .min(1)
        .superRefine((v, ctx) => {
          const m = layer2Matcher(v, links.descriptors);
          if ('error' in m) ctx.addIssue({ code: 'custom', message: m.error });
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
      lifetimeS: z
        .number({ error: `must be a whole number of seconds 1..${LIFETIME_S_MAX}` })
        .int('must be an integer number of seconds')
        .min(1, 'must be ≥ 1 s')
        .max(LIFETIME_S_MAX, `must be ≤ ${LIFETIME_S_MAX} s`)
        .optional(),
    })
    .strict();
}

/** The file holds `devices: [...]`; a bare list of entries is accepted too (normalised first, so errors name fields, not "invalid union"). */
const fileSchema = (links: AuthorizationLinks) => z.preprocess((v) => (Array.isArray(v) ? { devices: v } : v), z.object({ devices: z.array(entrySchema(links)) }).strict());

/** `*`, or the matcher of each link kind whose Layer-2 ID syntax reads the pattern. */
type Layer2Rule = '*' | ReadonlyMap<LinkKind, Layer2IdMatcher>;

interface Rule {
  readonly matchLayer2: Layer2Rule;
  readonly matchApp: (applicationId: number) => boolean;
  readonly ueServiceId?: UeServiceId;
  readonly lifetimeS?: number;
}

function layer2Matcher(pattern: string, descriptors: readonly AnyDeviceLinkDescriptor[]): { rule: Layer2Rule } | { error: string } {
  if (pattern === '*') return { rule: '*' };
  const matchers = new Map<LinkKind, Layer2IdMatcher>();
  const errors: string[] = [];
  for (const d of descriptors) {
    const m = d.layer2Ids.pattern(pattern);
    if (m === undefined) continue;
    if (m.ok) matchers.set(d.kind, m.value);
    else errors.push(m.error);
  }
  if (matchers.size > 0) return { rule: matchers };
  if (errors.length > 0) return { error: [...new Set(errors)].join('; ') };
  const forms = [...new Set(descriptors.map((d) => `${d.kind}: ${d.layer2Ids.form}`))].join('; ');
  return { error: `"${pattern}" is not a Layer-2 ID pattern of any device link (${forms}), nor "*"` };
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
  constructor(
    private readonly rules: readonly Rule[],
    private readonly links: AuthorizationLinks = DEFAULT_AUTHORIZATION_LINKS,
  ) {}

  get size(): number {
    return this.rules.length;
  }

  authorize(link: LinkId, layer2Id: Layer2Id, applicationId: ApplicationId): AuthorizationDecision {
    const kind = this.links.kindOf(link);
    for (const r of this.rules) {
      const l2 = r.matchLayer2 === '*' || (kind !== undefined && r.matchLayer2.get(kind)?.(layer2Id) === true);
      if (l2 && r.matchApp(applicationId)) {
        return {
          allowed: true,
          ...(r.ueServiceId === undefined ? {} : { ueServiceId: r.ueServiceId }),
          ...(r.lifetimeS === undefined ? {} : { lifetimeS: r.lifetimeS }),
        };
      }
    }
    return { allowed: false };
  }

  /**
   * Reads an authorization list file (YAML or JSON).
   * @throws ConfigError with one line per bad entry.
   */
  static fromFile(path: string, links: AuthorizationLinks = DEFAULT_AUTHORIZATION_LINKS): ListDeviceAuthorizer {
    const parsed = readStructuredFile(path, 'authorization:');
    const result = fileSchema(links).safeParse(parsed);
    if (!result.success) {
      throw new ConfigError(
        result.error.issues.map((i) => {
          const what = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')} (allowed: layer2Id, applicationIds, ueServiceId, lifetimeS)` : i.message;
          return `authorization ${path}: ${i.path.join('.') || '(top level)'}: ${what}`;
        }),
      );
    }
    const entries = result.data.devices;
    const problems: string[] = [];
    const rules: Rule[] = [];
    entries.forEach((e, i) => {
      const l2 = layer2Matcher(e.layer2Id, links.descriptors);
      const app = appMatcher(e.applicationIds);
      let ueServiceId: UeServiceId | undefined;
      if (e.ueServiceId !== undefined) {
        const u = parseUeServiceId(e.ueServiceId);
        if (u.ok) ueServiceId = u.value;
        else problems.push(`authorization ${path}: devices.${i}.ueServiceId: ${u.error}`);
      }
      if ('error' in l2) problems.push(`authorization ${path}: devices.${i}.layer2Id: ${l2.error}`);
      if (typeof app === 'string') problems.push(`authorization ${path}: devices.${i}.applicationIds: ${app}`);
      if ('rule' in l2 && typeof app !== 'string') {
        rules.push({
          matchLayer2: l2.rule,
          matchApp: app,
          ...(ueServiceId === undefined ? {} : { ueServiceId }),
          ...(e.lifetimeS === undefined ? {} : { lifetimeS: e.lifetimeS }),
        });
      }
    });
    if (problems.length > 0) throw new ConfigError(problems);
    return new ListDeviceAuthorizer(rules, links);
  }
}
