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
import { z } from 'zod';
import { EXCHANGE_LIFETIME_MS } from '@msgin5g/core';

/** EtherType: a number or "0x88b5"; 0x0600..0xFFFF (below 0x0600 the field is an IEEE 802.3 length). */
const etherType = z
  .union([z.number(), z.string().regex(/^(0x[0-9a-fA-F]{1,4}|[0-9]{1,5})$/, 'must be an EtherType such as 0x88b5').transform((v) => Number(v))])
  .pipe(z.number().int().min(0x0600, 'must be 0x0600..0xffff').max(0xffff, 'must be 0x0600..0xffff'));

const coapUri = z
  .string()
  .regex(/^coap:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/[^\s?#]*)?$/, 'must be a coap:// URI such as coap://127.0.0.1:5683/msgin5g');

const storeSpec = z
  .string()
  .regex(/^(memory|sqlite:.+)$/, 'must be "memory" or "sqlite:PATH" (for example sqlite:./data/gateway.db)');

const port = z.coerce.number({ error: 'must be a port number 0..65535' }).int('must be an integer').min(0, 'must be 0..65535').max(65535, 'must be 0..65535');
/** Booleans from YAML, or from the strings "true"/"false" (environment, flags); z.coerce.boolean would read "false" as true. */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const positiveMs = z.coerce.number({ error: 'must be a whole number of ms' }).int('must be an integer number of ms').positive('must be > 0 ms');

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
    udp: z
      .object({
        enabled: bool.default(true),
        host: z.string().min(1).default('0.0.0.0'),
        port: port.default(5690),
      })
      .strict()
      .default({ enabled: true, host: '0.0.0.0', port: 5690 }),
    /** The L2 device link (docs/wire-formats.md §3.1): on when `interface` is set. Linux, root or CAP_NET_RAW. */
    l2: z
      .object({
        interface: z.string().min(1).max(15, 'an interface name has at most 15 characters').optional(),
        /** The specified MAC address devices send to; default the interface's own MAC. */
        mac: z
          .string()
          .regex(/^([0-9a-fA-F]{2}[:-]?){5}[0-9a-fA-F]{2}$/, 'must be a MAC address such as 02:00:00:00:00:01')
          .optional(),
        etherType: etherType.default(0x88b5),
      })
      .strict()
      .default({ etherType: 0x88b5 }),
    /** The CoAP device link (docs/wire-formats.md §3.3, Annex A.3 style): on when `port` is set. */
    coapDevice: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: port.optional(),
        uriPath: z.string().regex(/^[A-Za-z0-9._~-]{1,255}$/, 'must be one Uri-Path segment such as msgin5g').default('msgin5g'),
      })
      .strict()
      .default({ host: '0.0.0.0', uriPath: 'msgin5g' }),
    store: storeSpec.default('sqlite:./data/gateway.db'),
    sqlite: z
      .object({
        synchronous: z.enum(['NORMAL', 'FULL']).default('FULL'),
        busyTimeoutMs: z.coerce.number().int().min(0).max(5000).default(100),
      })
      .strict()
      .default({ synchronous: 'FULL', busyTimeoutMs: 100 }),
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
    /** How long SIGTERM/SIGINT waits for in-flight procedures before de-registering the gateway, ms. */
    drainTimeoutMs: positiveMs.default(10_000),
    /** Retry interval for the gateway's own registration while the server is unreachable, ms. */
    registerRetryMs: positiveMs.default(2_000),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.udp.enabled && c.l2.interface === undefined && c.coapDevice.port === undefined) {
      ctx.addIssue({ code: 'custom', path: ['udp', 'enabled'], message: 'no device link would run: keep the UDP link, or set l2.interface (--l2-interface) or coapDevice.port (--coap-device-port)' });
    }
    if (c.udp.enabled && c.coapDevice.port !== undefined && c.coapDevice.port !== 0 && c.coapDevice.port === c.udp.port) {
      ctx.addIssue({ code: 'custom', path: ['coapDevice', 'port'], message: `must differ from the UDP device link port ${c.udp.port}` });
    }
  });

export type GatewayConfig = z.infer<typeof configSchema>;

/** A configuration problem; `problems` holds one line per bad field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Flags of `msgin5g-gateway start`, as commander gives them. */
export interface StartFlags {
  config?: string;
  server?: string;
  ueServiceId?: string;
  udpHost?: string;
  udpPort?: string;
  store?: string;
  deadlineMs?: string;
  upstreamSockets?: string;
  authorization?: string;
  logLevel?: string;
  drainTimeoutMs?: string;
  coapDevicePort?: string;
  coapDeviceHost?: string;
  coapDevicePath?: string;
  l2Interface?: string;
  l2Mac?: string;
  l2Ethertype?: string;
  /** `--no-udp` sets false. */
  udp?: boolean;
}

type Source = 'default' | 'file' | 'env' | 'flag';
type Raw = Record<string, unknown>;

/** Environment variables and the config path each sets. */
export const ENVIRONMENT: ReadonlyArray<[string, string]> = [
  ['MSGIN5G_UE_SERVICE_ID', 'ueServiceId'],
  ['MSGIN5G_SERVER', 'server.uri'],
  ['MSGIN5G_DEADLINE_MS', 'server.deadlineMs'],
  ['MSGIN5G_UPSTREAM_SOCKETS', 'server.upstreamSockets'],
  ['MSGIN5G_UDP_HOST', 'udp.host'],
  ['MSGIN5G_UDP_PORT', 'udp.port'],
  ['MSGIN5G_STORE', 'store'],
  ['MSGIN5G_AUTHORIZATION', 'authorization'],
  ['MSGIN5G_LOG_LEVEL', 'logLevel'],
  ['MSGIN5G_DRAIN_TIMEOUT_MS', 'drainTimeoutMs'],
  ['MSGIN5G_COAP_DEVICE_PORT', 'coapDevice.port'],
  ['MSGIN5G_COAP_DEVICE_HOST', 'coapDevice.host'],
  ['MSGIN5G_COAP_DEVICE_PATH', 'coapDevice.uriPath'],
  ['MSGIN5G_L2_INTERFACE', 'l2.interface'],
  ['MSGIN5G_L2_MAC', 'l2.mac'],
  ['MSGIN5G_L2_ETHERTYPE', 'l2.etherType'],
];

const FLAGS: ReadonlyArray<[Exclude<keyof StartFlags, 'config' | 'udp'>, string, string]> = [
  ['ueServiceId', 'ueServiceId', '--ue-service-id'],
  ['server', 'server.uri', '--server'],
  ['deadlineMs', 'server.deadlineMs', '--deadline-ms'],
  ['upstreamSockets', 'server.upstreamSockets', '--upstream-sockets'],
  ['udpHost', 'udp.host', '--udp-host'],
  ['udpPort', 'udp.port', '--udp-port'],
  ['store', 'store', '--store'],
  ['authorization', 'authorization', '--authorization'],
  ['logLevel', 'logLevel', '--log-level'],
  ['drainTimeoutMs', 'drainTimeoutMs', '--drain-timeout-ms'],
  ['coapDevicePort', 'coapDevice.port', '--coap-device-port'],
  ['coapDeviceHost', 'coapDevice.host', '--coap-device-host'],
  ['coapDevicePath', 'coapDevice.uriPath', '--coap-device-path'],
  ['l2Interface', 'l2.interface', '--l2-interface'],
  ['l2Mac', 'l2.mac', '--l2-mac'],
  ['l2Ethertype', 'l2.etherType', '--l2-ethertype'],
];

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

/**
 * Builds the configuration from a file, the environment and flags.
 * @throws ConfigError listing every bad field (path, problem, the value and its source).
 */
export function loadConfig(flags: StartFlags, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const raw: Raw = flags.config !== undefined ? readConfigFile(flags.config) : {};
  const sources = new Map<string, string>();
  for (const key of Object.keys(raw)) sources.set(key, `config file ${flags.config}`);
  for (const [name, path] of ENVIRONMENT) {
    const v = env[name];
    if (v !== undefined && v !== '') {
      setPath(raw, path, v);
      sources.set(path, `environment ${name}`);
    }
  }
  if (flags.udp === false) {
    setPath(raw, 'udp.enabled', false);
    sources.set('udp.enabled', 'flag --no-udp');
  }
  for (const [flag, path, spelled] of FLAGS) {
    const v = flags[flag];
    if (typeof v === 'string') {
      setPath(raw, path, v);
      sources.set(path, `flag ${spelled}`);
    }
  }
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      // Only a config file can hold unknown keys (flags and variables map to known ones).
      return `${path || '(top level)'}: unknown setting(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} in config file ${flags.config ?? ''}`.trimEnd();
    }
    const source = sources.get(path) ?? sources.get(String(issue.path[0])) ?? ('default' as Source);
    const value = issue.path.reduce<unknown>((node, k) => (node as Raw | undefined)?.[k as string], raw);
    const shown = value === undefined ? '' : ` (got ${JSON.stringify(value)} from ${source})`;
    return `${path || '(top level)'}: ${issue.message}${shown}`;
  });
  throw new ConfigError(problems);
}
