/**
 * Gateway configuration: defaults < config file (YAML or JSON) < environment (MSGIN5G_*) < flags.
 * Validated once at start with zod; every bad field is reported on its own line with where the
 * value came from, and the gateway does not start.
 *
 * Rejected alternative: convict/rc-style loaders. They merge sources well but validate weakly; zod
 * gives typed output and precise messages, and the merge is a few lines.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_EXPIRIES_PER_SECOND, DEFAULT_REGISTRATION_LIFETIME_S, EXCHANGE_LIFETIME_MS, LIFETIME_S_MAX, must, parseLinkId, type LinkId, type LinkKind } from '@msgin5g/core';
import { MESSAGE_ID_SPACE } from '@msgin5g/coap-server-link';
import type { AnyDeviceLinkDescriptor } from '@msgin5g/link-sdk';
import { z } from 'zod';
import { DEVICE_LINKS } from './links';

const coapUri = z
  .string()
  .regex(/^coap:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/[^\s?#]*)?$/, 'must be a coap:// URI such as coap://127.0.0.1:5683/msgin5g');

const storeSpec = z
  .string()
  .regex(/^(memory|sqlite:.+)$/, 'must be "memory" or "sqlite:PATH" (for example sqlite:./data/gateway.db)');

/** Booleans from YAML, or from the strings "true"/"false" (environment, flags); z.coerce.boolean would read "false" as true. */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const positiveMs = z.coerce.number({ error: 'must be a whole number of ms' }).int('must be an integer number of ms').positive('must be > 0 ms');

/** Default admin API address: loopback only, so no token is needed (README "Admin API"). */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
export const DEFAULT_ADMIN_PORT = 9690;

/** `off` (or YAML `false`) turns the admin listener off; else a TCP port, 0 meaning any free one. */
const adminPort = z.union([
  z.literal('off'),
  z.literal(false).transform(() => 'off' as const),
  z.coerce.number({ error: 'must be a TCP port 0..65535 (0: any free port) or "off"' }).int('must be a TCP port 0..65535 (0: any free port) or "off"').min(0, 'must be a TCP port 0..65535 (0: any free port) or "off"').max(65535, 'must be a TCP port 0..65535 (0: any free port) or "off"'),
], { error: 'must be a TCP port 0..65535 (0: any free port) or "off"' });

/**
 * Whether `host` reaches only this machine: `localhost`, 127.0.0.0/8, `::1` (and its IPv4-mapped
 * form). Anything else (`0.0.0.0`, `::`, an interface address, a name) may be reached from outside.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Default address of the gateway's MSGin5G-1 endpoint (the inbox): loopback, like the reference server. */
export const DEFAULT_INBOX_HOST = '127.0.0.1';

/** `off` (or YAML `false`), or a UDP port, 0 meaning any free one. */
const udpPortOrOff = z.union([
  z.literal('off'),
  z.literal(false).transform(() => 'off' as const),
  z.coerce.number({ error: 'must be a UDP port 0..65535 (0: any free port) or "off"' }).int('must be a UDP port 0..65535 (0: any free port) or "off"').min(0, 'must be a UDP port 0..65535 (0: any free port) or "off"').max(65535, 'must be a UDP port 0..65535 (0: any free port) or "off"'),
], { error: 'must be a UDP port 0..65535 (0: any free port) or "off"' });

/** Whether `host` is a wildcard address (every interface): `0.0.0.0`, `::`, `[::]`. */
export function isWildcardHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || h === '::' || h === '0:0:0:0:0:0:0:0';
}

/** Every setting but the device links, which {@link loadConfig} reads through their descriptors. */
export const configSchema = z
  .object({
    /** The Gateway UE's own UE Service ID toward the MSGin5G Server. */
    ueServiceId: z.string().min(1, 'must not be empty').max(256).default('msgin5g-gateway-1'),
    server: z
      .object({
        uri: coapUri.default('coap://127.0.0.1:5683/msgin5g'),
        /** The gateway's own deadline per upstream exchange, ms. */
        deadlineMs: positiveMs.max(600_000, 'must be ≤ 600000 ms').default(30_000),
        /** Upstream UDP sockets, each spending its own Message IDs within EXCHANGE_LIFETIME (RFC 7252 §4.4). */
        upstreamSockets: z.coerce.number({ error: 'must be a number of sockets 1..64' }).int('must be an integer').min(1, 'must be 1..64').max(64, 'must be 1..64').default(1),
      })
      .strict()
      .default({ uri: 'coap://127.0.0.1:5683/msgin5g', deadlineMs: 30_000, upstreamSockets: 1 }),
    store: storeSpec.default('sqlite:./data/gateway.db'),
    sqlite: z
      .object({
        synchronous: z.enum(['NORMAL', 'FULL']).default('FULL'),
        /** With FULL: fsync each commit's WAL on the thread pool (`off-loop`) or inside COMMIT (`in-commit`); docs/adr/0008. */
        fsync: z.enum(['off-loop', 'in-commit']).default('off-loop'),
        busyTimeoutMs: z.coerce.number().int().min(0).max(5000).default(100),
      })
      .strict()
      .default({ synchronous: 'FULL', fsync: 'off-loop', busyTimeoutMs: 100 }),
    /** `open` or the path of an authorization list file (TS 23.554 §8.11.2 pre-condition 1). Required. */
    authorization: z.string({ error: 'is required: use "open" to accept every device, or the path of an authorization list (see README, Authorization)' }).min(1),
    tombstoneLifetimeMs: positiveMs.default(EXCHANGE_LIFETIME_MS),
    removeMappingOnFailure: bool.default(false),
    limits: z
      .object({
        maxRegistrations: z.coerce.number().int().positive().default(1_000_000),
        maxInFlight: z.coerce.number().int().positive().default(4096),
        /** Token bucket per source Layer-2 ID: requests per second, and the burst allowed at once. */
        requestsPerSecondPerDevice: z.coerce.number().positive().default(20),
        burstPerDevice: z.coerce.number().int().positive().default(40),
      })
      .strict()
      .default({ maxRegistrations: 1_000_000, maxInFlight: 4096, requestsPerSecondPerDevice: 20, burstPerDevice: 40 }),
    /**
     * Registration lifetime, s (docs/adr/0011-registration-lifetime.md): what a device gets unless
     * its authorization entry names another, and the most it may ask for. Default 86 400 (one day).
     */
    registrationLifetimeS: z.coerce
      .number({ error: `must be a whole number of seconds 1..${LIFETIME_S_MAX}` })
      .int('must be an integer number of seconds')
      .min(1, 'must be ≥ 1 s')
      .max(LIFETIME_S_MAX, `must be ≤ ${LIFETIME_S_MAX} s`)
      .default(DEFAULT_REGISTRATION_LIFETIME_S),
    /** The expiry scheduler's pace (docs/adr/0011-registration-lifetime.md). */
    expiry: z
      .object({
        /** Most expiries started per second (each one DEREG upstream). */
        expiriesPerSecond: z.coerce.number({ error: 'must be a number of expiries per second' }).positive('must be > 0').max(10_000, 'must be ≤ 10000').default(DEFAULT_EXPIRIES_PER_SECOND),
        /** After a failed expiry, how long until it is tried again, ms. */
        retryDelayMs: positiveMs.default(60_000),
      })
      .strict()
      .default({ expiriesPerSecond: DEFAULT_EXPIRIES_PER_SECOND, retryDelayMs: 60_000 }),
    /** How long SIGTERM/SIGINT waits for in-flight procedures before de-registering the gateway, ms. */
    drainTimeoutMs: positiveMs.default(10_000),
    /** First retry delay of the gateway's own registration while the server does not accept it, ms; doubled per failed attempt. */
    registerRetryMs: positiveMs.default(2_000),
    /** Cap of that doubling delay, ms. */
    registerRetryMaxMs: positiveMs.default(30_000),
    /**
     * The gateway's own MSGin5G-1 endpoint, where the MSGin5G Server delivers messages for its
     * devices (docs/adr/0013-how-the-server-reaches-the-gateway.md); its URI goes in the gateway's REG
     * as `notifyUri`.
     */
    inbox: z
      .object({
        /** Address the endpoint listens on. */
        host: z.string().min(1, 'must not be empty').default(DEFAULT_INBOX_HOST),
        /** UDP port, 0 for any free one (the REG tells the server which), or "off": no downlink messages. */
        port: udpPortOrOff.default(0),
        /** Host written into `notifyUri`; required when `host` is a wildcard (0.0.0.0, ::). Default: `host`. */
        advertiseHost: z.string().min(1, 'must not be empty').optional(),
      })
      .strict()
      .default({ host: DEFAULT_INBOX_HOST, port: 0 }),
    /** Message delivery through the gateway (docs/wire-formats.md §5.3). */
    messages: z
      .object({
        /** Most downlink units queued for one device; over it the server is answered CONGESTION. */
        queuePerDevice: z.coerce.number({ error: 'must be a number of messages 1..100000' }).int('must be an integer').min(1, 'must be ≥ 1').max(100_000, 'must be ≤ 100000').default(64),
        /** Most downlink units queued for all devices together. */
        queueTotal: z.coerce.number({ error: 'must be a number of messages 1..10000000' }).int('must be an integer').min(1, 'must be ≥ 1').max(10_000_000, 'must be ≤ 10000000').default(100_000),
        /** Wait before the first resend of an unacknowledged MESSAGE RECEIVING, ms; doubled for each of the 4 resends. */
        firstResendMs: positiveMs.max(60_000, 'must be ≤ 60000 ms').default(2_000),
      })
      .strict()
      .default({ queuePerDevice: 64, queueTotal: 100_000, firstResendMs: 2_000 }),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** The admin HTTP API (src/admin/admin-api.ts; README "Admin API"). */
    admin: z
      .object({
        /** Address it listens on; beyond loopback a token is required. */
        host: z.string().min(1, 'must not be empty').default(DEFAULT_ADMIN_HOST),
        /** TCP port, 0 for any free port, or "off" (also `false`) for no admin listener. */
        port: adminPort.default(DEFAULT_ADMIN_PORT),
        /** Bearer token every route but /healthz and /readyz requires, when set. */
        token: z
          .string()
          .min(16, 'must be at least 16 characters (for example the output of `openssl rand -hex 32`)')
          .max(1024, 'must be at most 1024 characters')
          .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
          .optional(),
      })
      .strict()
      .default({ host: DEFAULT_ADMIN_HOST, port: DEFAULT_ADMIN_PORT }),
  })
  .strict();

/** One device link instance to run, as configured (docs/architecture.md §4). */
export interface ConfiguredLink {
  /** Instance id: what the store records and answers leave through. */
  readonly id: LinkId;
  readonly kind: LinkKind;
  /** The descriptor's validated settings. */
  readonly settings: Record<string, unknown>;
  /** Where it was configured: `udp` (section, flags, environment), `links.0`. */
  readonly origin: string;
}

export type GatewayConfig = z.infer<typeof configSchema> & {
  /** Device link instances in start order: sections (in descriptor order), then `links:` entries. */
  readonly links: readonly ConfiguredLink[];
};

/** A configuration problem; `problems` holds one line per bad field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Flags of `msgin5g-gateway start`, as commander gives them: the core settings below, and each
 * device link's flags under commander's attribute name (`--udp-port` → `udpPort`, `--no-udp` →
 * `udp: false`, a repeatable flag → an array).
 */
export interface StartFlags {
  config?: string;
  server?: string;
  ueServiceId?: string;
  store?: string;
  deadlineMs?: string;
  upstreamSockets?: string;
  authorization?: string;
  logLevel?: string;
  drainTimeoutMs?: string;
  adminHost?: string;
  adminPort?: string;
  adminToken?: string;
  registrationLifetimeS?: string;
  expiryRate?: string;
  inboxHost?: string;
  inboxPort?: string;
  inboxAdvertiseHost?: string;
  messageQueuePerDevice?: string;
  messageQueueTotal?: string;
  [linkFlag: string]: string | string[] | boolean | undefined;
}

type Raw = Record<string, unknown>;

/** Environment variables of the core settings and the config path each sets; links add theirs ({@link environmentVariables}). */
const CORE_ENVIRONMENT: ReadonlyArray<[string, string]> = [
  ['MSGIN5G_UE_SERVICE_ID', 'ueServiceId'],
  ['MSGIN5G_SERVER', 'server.uri'],
  ['MSGIN5G_DEADLINE_MS', 'server.deadlineMs'],
  ['MSGIN5G_UPSTREAM_SOCKETS', 'server.upstreamSockets'],
  ['MSGIN5G_STORE', 'store'],
  ['MSGIN5G_AUTHORIZATION', 'authorization'],
  ['MSGIN5G_LOG_LEVEL', 'logLevel'],
  ['MSGIN5G_DRAIN_TIMEOUT_MS', 'drainTimeoutMs'],
  ['MSGIN5G_ADMIN_HOST', 'admin.host'],
  ['MSGIN5G_ADMIN_PORT', 'admin.port'],
  ['MSGIN5G_ADMIN_TOKEN', 'admin.token'],
  ['MSGIN5G_REGISTRATION_LIFETIME_S', 'registrationLifetimeS'],
  ['MSGIN5G_EXPIRY_RATE', 'expiry.expiriesPerSecond'],
  ['MSGIN5G_INBOX_HOST', 'inbox.host'],
  ['MSGIN5G_INBOX_PORT', 'inbox.port'],
  ['MSGIN5G_INBOX_ADVERTISE_HOST', 'inbox.advertiseHost'],
  ['MSGIN5G_MESSAGE_QUEUE_PER_DEVICE', 'messages.queuePerDevice'],
  ['MSGIN5G_MESSAGE_QUEUE_TOTAL', 'messages.queueTotal'],
];

const CORE_FLAGS: ReadonlyArray<[string, string, string]> = [
  ['ueServiceId', 'ueServiceId', '--ue-service-id'],
  ['server', 'server.uri', '--server'],
  ['deadlineMs', 'server.deadlineMs', '--deadline-ms'],
  ['upstreamSockets', 'server.upstreamSockets', '--upstream-sockets'],
  ['store', 'store', '--store'],
  ['authorization', 'authorization', '--authorization'],
  ['logLevel', 'logLevel', '--log-level'],
  ['drainTimeoutMs', 'drainTimeoutMs', '--drain-timeout-ms'],
  ['adminHost', 'admin.host', '--admin-host'],
  ['adminPort', 'admin.port', '--admin-port'],
  ['adminToken', 'admin.token', '--admin-token'],
  ['registrationLifetimeS', 'registrationLifetimeS', '--registration-lifetime-s'],
  ['expiryRate', 'expiry.expiriesPerSecond', '--expiry-rate'],
  ['inboxHost', 'inbox.host', '--inbox-host'],
  ['inboxPort', 'inbox.port', '--inbox-port'],
  ['inboxAdvertiseHost', 'inbox.advertiseHost', '--inbox-advertise-host'],
  ['messageQueuePerDevice', 'messages.queuePerDevice', '--message-queue-per-device'],
  ['messageQueueTotal', 'messages.queueTotal', '--message-queue-total'],
];

/** The config-file key of a link kind's one-instance section (`udp`, `coapDevice`). */
export const sectionKey = (d: AnyDeviceLinkDescriptor): string => d.configKey ?? d.kind;

/** Commander's attribute name of a flag: `--coap-device-port <port>` → `coapDevicePort`. */
export function flagAttribute(flag: string): string {
  const long = (flag.split(/[ ,]/)[0] ?? '').replace(/^--/, '');
  return long.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Every environment variable and the config path it sets, the device links' included. */
export function environmentVariables(descriptors: readonly AnyDeviceLinkDescriptor[] = DEVICE_LINKS): Array<[string, string]> {
  const out: Array<[string, string]> = [...CORE_ENVIRONMENT];
  for (const d of descriptors) for (const o of d.options) if (o.env !== undefined) out.push([o.env, `${sectionKey(d)}.${o.setting}`]);
  return out;
}

/** Environment variables and the config path each sets (for `--help` and the README). */
export const ENVIRONMENT: ReadonlyArray<[string, string]> = environmentVariables();

function setPath(target: Raw, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[k] = {};
    node = node[k] as Raw;
  }
  node[keys[keys.length - 1] as string] = value;
}

/**
 * Reads a YAML or JSON file (a `.json` file is parsed as strict JSON).
 * @throws ConfigError naming `what`, the path and the problem (unreadable, or the parser's line and column).
 */
export function readStructuredFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${what} ${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  try {
    return path.toLowerCase().endsWith('.json') ? (JSON.parse(text) as unknown) : parseYaml(text);
  } catch (err) {
    const kind = path.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML';
    throw new ConfigError([`${what} ${path}: not valid ${kind} (${(err as Error).message.split('\n')[0]})`]);
  }
}

function readConfigFile(path: string): Raw {
  const parsed = readStructuredFile(path, '--config');
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError([`--config ${path}: must hold a mapping of settings`]);
  return parsed as Raw;
}

/** Settings whose values are secrets: problems name where they came from, never the value. */
const SECRET_PATHS: ReadonlySet<string> = new Set(['admin.token']);

/** Where each raw value came from, by config path, for messages. */
type Sources = Map<string, string>;

function describeValue(value: unknown, source: string | undefined): string {
  return value === undefined ? '' : ` (got ${JSON.stringify(value)} from ${source ?? 'default'})`;
}

/** The problems of a failed zod parse, one line each, paths prefixed with `prefix`. */
function issueLines(error: z.ZodError, raw: unknown, prefix: string, sources: Sources, configFile: string | undefined): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      return `${path || '(top level)'}: unknown setting(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${configFile === undefined ? '' : ` in config file ${configFile}`}`;
    }
    const value = issue.path.reduce<unknown>((node, k) => (node as Raw | undefined)?.[k as string], raw);
    const source = sources.get(path) ?? sources.get(path.split('.')[0] ?? '');
    // A secret is never echoed back: the message names its source only.
    const shown = SECRET_PATHS.has(path) && value !== undefined ? '(hidden)' : value;
    return `${path || '(top level)'}: ${issue.message}${describeValue(shown, source)}`;
  });
}

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An instance before naming: its descriptor, raw settings, optional explicit name, origin. */
interface LinkDraft {
  readonly descriptor: AnyDeviceLinkDescriptor;
  readonly raw: Raw;
  readonly name?: unknown;
  readonly origin: string;
}

/**
 * Reads the device link instances: each kind's section (file, environment, flags) and the
 * `links:` list, validated by each descriptor's settings schema, named, and checked for resources
 * two instances would both hold.
 */
function readLinks(raw: Raw, linksRaw: unknown, sources: Sources, descriptors: readonly AnyDeviceLinkDescriptor[], configFile: string | undefined, problems: string[]): ConfiguredLink[] {
  const drafts: LinkDraft[] = [];
  for (const d of descriptors) {
    const key = sectionKey(d);
    const section = raw[key];
    if (section === undefined) {
      if (d.activation === 'default' && linksRaw === undefined) drafts.push({ descriptor: d, raw: {}, origin: key });
      continue;
    }
    if (!isObject(section)) {
      problems.push(`${key}: must be a mapping of the ${d.kind} link's settings${describeValue(section, sources.get(key))}`);
      continue;
    }
    const { name, enabled, ...settings } = section;
    if (d.activation === 'default') {
      const on = enabled === undefined ? { success: true as const, data: true } : bool.safeParse(enabled);
      if (!on.success) problems.push(`${key}.enabled: must be true or false${describeValue(enabled, sources.get(`${key}.enabled`) ?? sources.get(key))}`);
      else if (on.data) drafts.push({ descriptor: d, raw: settings, name, origin: key });
      continue;
    }
    if (enabled !== undefined) settings.enabled = enabled; // not a setting of this link: its schema reports it
    const by = d.activation.by;
    const value = settings[by];
    if (value === undefined) {
      const given = Object.keys(settings);
      if (given.length > 0) {
        const flag = d.options.find((o) => o.setting === by)?.flag.split(' ')[0];
        problems.push(`${key}: ${given.map((k) => `${key}.${k}`).join(', ')} set (from ${given.map((k) => sources.get(`${key}.${k}`) ?? sources.get(key) ?? 'default').join(', ')}), but the ${d.kind} link runs only when ${key}.${by}${flag === undefined ? '' : ` (${flag})`} is set`);
      }
      continue;
    }
    if (Array.isArray(value)) {
      if (value.length > 1 && name !== undefined) problems.push(`${key}.name: one name cannot go to ${value.length} instances; use links: entries to name each`);
      value.forEach((v, i) => drafts.push({ descriptor: d, raw: { ...settings, [by]: v }, name: value.length === 1 ? name : undefined, origin: value.length === 1 ? key : `${key}.${by}.${i}` }));
    } else {
      drafts.push({ descriptor: d, raw: settings, name, origin: key });
    }
  }
  if (linksRaw !== undefined) {
    if (!Array.isArray(linksRaw)) {
      problems.push(`links: must be a list such as [{type: udp, port: 5690}]${describeValue(linksRaw, sources.get('links'))}`);
    } else {
      const kinds = descriptors.map((d) => d.kind);
      linksRaw.forEach((entry: unknown, i) => {
        if (!isObject(entry)) {
          problems.push(`links.${i}: must be a mapping with a type (${kinds.join(', ')})${describeValue(entry, sources.get('links'))}`);
          return;
        }
        const { type, name, ...settings } = entry;
        const d = descriptors.find((x) => x.kind === type);
        if (d === undefined) {
          problems.push(`links.${i}.type: must be one of ${kinds.join(', ')}${describeValue(type, sources.get('links'))}`);
          return;
        }
        drafts.push({ descriptor: d, raw: settings, name, origin: `links.${i}` });
      });
    }
  }

  // Validate settings; explicit names first, then the kind for the first unnamed instance of it.
  const taken = new Set<string>();
  const valid: Array<{ draft: LinkDraft; settings: Record<string, unknown>; name?: LinkId }> = [];
  for (const draft of drafts) {
    let name: LinkId | undefined;
    if (draft.name !== undefined) {
      const n = typeof draft.name === 'string' ? parseLinkId(draft.name) : parseLinkId(String(draft.name));
      if (!n.ok) problems.push(`${draft.origin}.name: ${n.error}`);
      else if (taken.has(n.value)) problems.push(`${draft.origin}.name: another link is already named ${JSON.stringify(n.value)}`);
      else {
        taken.add(n.value);
        name = n.value;
      }
    }
    const parsed = draft.descriptor.settings.safeParse(draft.raw);
    if (!parsed.success) {
      problems.push(...issueLines(parsed.error, draft.raw, draft.origin.startsWith('links.') ? draft.origin : sectionKey(draft.descriptor), sources, configFile));
      continue;
    }
    valid.push({ draft, settings: parsed.data as Record<string, unknown>, ...(name === undefined ? {} : { name }) });
  }
  const links: ConfiguredLink[] = [];
  const holders = new Map<string, LinkId>();
  for (const v of valid) {
    let id = v.name;
    if (id === undefined) {
      const kind = v.draft.descriptor.kind;
      let candidate = kind;
      for (let n = 2; taken.has(candidate); n++) candidate = `${kind}-${n}`;
      id = must(parseLinkId(candidate));
      taken.add(id);
    }
    for (const r of v.draft.descriptor.resources?.(v.settings) ?? []) {
      const holder = holders.get(r);
      if (holder !== undefined) problems.push(`${v.draft.origin}: link "${id}" needs ${r}, which link "${holder}" already holds`);
      else holders.set(r, id);
    }
    links.push({ id, kind: v.draft.descriptor.kind, settings: v.settings, origin: v.draft.origin });
  }
  return links;
}

/** How to turn a link on, for the "no device link would run" message. */
function activationHint(descriptors: readonly AnyDeviceLinkDescriptor[]): string {
  return descriptors
    .map((d) => {
      if (d.activation === 'default') return `keep the ${d.kind} link (${sectionKey(d)}.enabled)`;
      const by = d.activation.by;
      const flag = d.options.find((o) => o.setting === by)?.flag.split(' ')[0];
      return `set ${sectionKey(d)}.${by}${flag === undefined ? '' : ` (${flag})`}`;
    })
    .join(', or ');
}

/**
 * Builds the configuration from a file, the environment and flags.
 * @throws ConfigError listing every bad field (path, problem, the value and its source).
 */
export function loadConfig(flags: StartFlags, env: NodeJS.ProcessEnv = process.env, descriptors: readonly AnyDeviceLinkDescriptor[] = DEVICE_LINKS): GatewayConfig {
  const raw: Raw = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
  const configFile = typeof flags.config === 'string' ? flags.config : undefined;
  const sources: Sources = new Map();
  for (const key of Object.keys(raw)) sources.set(key, `config file ${configFile ?? ''}`);
  const set = (path: string, value: unknown, source: string) => {
    setPath(raw, path, value);
    sources.set(path, source);
  };
  for (const [name, path] of CORE_ENVIRONMENT) {
    const v = env[name];
    if (v !== undefined && v !== '') set(path, v, `environment ${name}`);
  }
  for (const d of descriptors) {
    for (const o of d.options) {
      const v = o.env === undefined ? undefined : env[o.env];
      if (v === undefined || v === '') continue;
      set(`${sectionKey(d)}.${o.setting}`, o.repeatable === true ? v.split(',').map((x) => x.trim()).filter((x) => x !== '') : v, `environment ${o.env}`);
    }
  }
  for (const [flag, path, spelled] of CORE_FLAGS) {
    const v = flags[flag];
    if (typeof v === 'string') set(path, v, `flag ${spelled}`);
  }
  for (const d of descriptors) {
    if (d.activation === 'default' && flags[flagAttribute(`--${d.kind}`)] === false) set(`${sectionKey(d)}.enabled`, false, `flag --no-${d.kind}`);
    for (const o of d.options) {
      const v = flags[flagAttribute(o.flag)];
      const spelled = o.flag.split(' ')[0] ?? o.flag;
      if (typeof v === 'string') set(`${sectionKey(d)}.${o.setting}`, o.repeatable === true ? [v] : v, `flag ${spelled}`);
      else if (Array.isArray(v) && v.length > 0) set(`${sectionKey(d)}.${o.setting}`, o.repeatable === true ? v : v[v.length - 1], `flag ${spelled}`);
    }
  }

  const problems: string[] = [];
  const { links: linksRaw, ...rest } = raw;
  const coreRaw: Raw = { ...rest };
  for (const d of descriptors) delete coreRaw[sectionKey(d)];
  const links = readLinks(rest, linksRaw, sources, descriptors, configFile, problems);
  const result = configSchema.safeParse(coreRaw);
  if (!result.success) problems.unshift(...issueLines(result.error, coreRaw, '', sources, configFile));
  if (result.success && result.data.admin.port !== 'off' && result.data.admin.token === undefined && !isLoopbackHost(result.data.admin.host)) {
    problems.push(
      `admin.token: required when the admin API listens beyond loopback (admin.host ${JSON.stringify(result.data.admin.host)} from ${sources.get('admin.host') ?? sources.get('admin') ?? 'default'}): ` +
        'set --admin-token or MSGIN5G_ADMIN_TOKEN, keep --admin-host 127.0.0.1, or turn the listener off with --admin-port off',
    );
  }
  if (result.success && result.data.inbox.port !== 'off' && result.data.inbox.advertiseHost === undefined && isWildcardHost(result.data.inbox.host)) {
    problems.push(
      `inbox.advertiseHost: required when the inbox listens on a wildcard address (inbox.host ${JSON.stringify(result.data.inbox.host)} from ${sources.get('inbox.host') ?? sources.get('inbox') ?? 'default'}): ` +
        'the MSGin5G Server needs an address it can reach in the notifyUri; set --inbox-advertise-host',
    );
  }
  if (result.success && result.data.inbox.advertiseHost !== undefined && isWildcardHost(result.data.inbox.advertiseHost)) {
    problems.push(`inbox.advertiseHost: must be an address or name the MSGin5G Server can reach, not a wildcard${describeValue(result.data.inbox.advertiseHost, sources.get('inbox.advertiseHost'))}`);
  }
  if (result.success && result.data.messages.queuePerDevice > result.data.messages.queueTotal) {
    problems.push(`messages.queuePerDevice: must be ≤ messages.queueTotal (${result.data.messages.queueTotal})${describeValue(result.data.messages.queuePerDevice, sources.get('messages.queuePerDevice'))}`);
  }
  if (problems.length === 0 && links.length === 0) problems.push(`links: no device link would run: ${activationHint(descriptors)}, or list links: entries`);
  if (result.success) {
    // Each expiry is one confirmable DEREG: the pace may not exceed what the upstream sockets'
    // Message IDs allow without reuse inside EXCHANGE_LIFETIME (docs/adr/0011-registration-lifetime.md).
    const budget = Math.floor((MESSAGE_ID_SPACE * result.data.server.upstreamSockets * 1000) / EXCHANGE_LIFETIME_MS);
    if (result.data.expiry.expiriesPerSecond > budget) {
      problems.push(
        `expiry.expiriesPerSecond: must be ≤ ${budget}, what ${result.data.server.upstreamSockets} upstream socket(s) may send a second without reusing a Message ID within EXCHANGE_LIFETIME (65536 per 247 s each); raise server.upstreamSockets (--upstream-sockets) for more${describeValue(result.data.expiry.expiriesPerSecond, sources.get('expiry.expiriesPerSecond'))}`,
      );
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return { ...result.data, links };
}
