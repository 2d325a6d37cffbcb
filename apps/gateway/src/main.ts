#!/usr/bin/env node
/**
 * `msgin5g-gateway` command line (commander):
 *   start            run the Gateway UE
 *   devices list     the mappings, from the running gateway's admin API (or the store file)
 *   devices show ID  one mapping by Registration ID (likewise)
 *   devices kick ID  de-register one device through the running gateway's admin API
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
 */
import 'reflect-metadata';
import { Command, Option } from 'commander';
import { parseApplicationId, parseRegistrationId, REGISTRATION_STATES, type Registration, type RegistrationStore } from '@msgin5g/core';
import { AdminClient, AdminUnreachableError, problemOf, type AdminAnswer } from './admin/admin-client';
import { buildAdminApi } from './admin/admin-api';
import { listenAdminApi, type AdminListener } from './admin/admin-listener';
import { ProceduresDeviceKicker } from './admin/device-kicker';
import { GatewayReadiness } from './admin/readiness';
import type { GatewayMetrics } from './gateway-metrics';
import { TOKENS } from './tokens';
import { ConfigError, DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT, ENVIRONMENT, loadConfig, type StartFlags } from './config';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContainer } from './container';
import { GatewayRuntime } from './gateway-runtime';
import { createLogger } from './logger';
import { DEVICE_LINKS } from './links';

// `… | head -1` closes the pipe early: the next write fails with EPIPE. Exit quietly (0) instead of
// crashing with a stack trace. (pino logs go to fd 1 through its own stream, not process.stdout.)
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

/** This package's version (package.json, next to dist/). */
const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

const program = new Command();
program
  .name('msgin5g-gateway')
  .version(VERSION, '-V, --version', 'print the version and exit')
  .description('MSGin5G Gateway UE (3GPP TS 23.554 §8.11, TS 24.538 6.3.2.1.2): registers and de-registers constrained devices with an MSGin5G Server on their behalf')
  .showHelpAfterError()
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

/** The device links' flags, from their descriptors (src/links.ts), each kind under its own heading. */
function addLinkOptions(cmd: Command): void {
  for (const d of DEVICE_LINKS) {
    const heading = `Device link "${d.kind}": ${d.summary}`;
    if (d.activation === 'default') cmd.addOption(new Option(`--no-${d.kind}`, `do not run the ${d.kind} device link`).helpGroup(heading));
    for (const o of d.options) {
      const option = new Option(o.flag, o.repeatable === true ? `${o.description} (repeat for more instances)` : o.description).helpGroup(heading);
      if (o.repeatable === true) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
      cmd.addOption(option);
    }
  }
}

const start = program
  .command('start')
  .description('run the gateway: device links, the MSGin5G-1 link to the server, the store')
  .option('--config <file>', 'YAML or JSON config file (see README, Configuration)')
  .option('--server <uri>', 'MSGin5G Server URI (default coap://127.0.0.1:5683/msgin5g)')
  .option('--ue-service-id <id>', "the gateway's own UE Service ID (default msgin5g-gateway-1)")
  .option('--store <spec>', 'sqlite:PATH or memory (default sqlite:./data/gateway.db)')
  .option('--deadline-ms <ms>', 'deadline of each exchange with the server, ms (default 30000)')
  .option('--upstream-sockets <n>', 'UDP sockets toward the server, each with its own Message ID budget of 65536 per 247 s (default 1)')
  .option('--authorization <open|file>', 'required: "open" accepts every device; otherwise an authorization list file')
  .option('--drain-timeout-ms <ms>', 'how long SIGTERM waits for in-flight procedures (default 10000)')
  .option('--admin-host <host>', 'address of the admin HTTP API (default 127.0.0.1; beyond loopback a token is required)')
  .option('--admin-port <port|off>', 'port of the admin HTTP API, 0 for any free port, off for none (default 9690)')
  .option('--admin-token <token>', 'bearer token of the admin HTTP API, at least 16 characters (prefer MSGIN5G_ADMIN_TOKEN: flags show in ps)')
  .option('--registration-lifetime-s <s>', 'registration lifetime, seconds: granted when a device asks none, the most it may ask; an authorization entry may set its own (default 86400)')
  .option('--expiry-rate <n>', 'most expiries started per second, each one DEREG upstream (default 100)')
  .option('--inbox-host <host>', "address of the gateway's MSGin5G-1 endpoint, where the server delivers messages for devices (default 127.0.0.1)")
  .option('--inbox-port <port|off>', 'UDP port of that endpoint, 0 for any free one (sent to the server in the REG as notifyUri), off for no downlink messages (default 0)')
  .option('--inbox-advertise-host <host>', 'host the server is told to reach the endpoint at (default --inbox-host; required when that is 0.0.0.0 or ::)')
  .option('--message-queue-per-device <n>', 'most messages queued for one device; over it the server is told CONGESTION (default 64)')
  .option('--message-queue-total <n>', 'most messages queued for all devices together (default 100000)')
  .addOption(new Option('--log-level <level>', 'log level (default info)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
  .addHelpText('after', `\nEnvironment (overridden by flags): ${ENVIRONMENT.map(([n, p]) => `${n} → ${p}`).join(', ')}\nMore instances of a link, and named ones: the config file's links: list (README, Device links).`);
addLinkOptions(start);
start
  .action(async (flags: StartFlags) => {
    let config;
    try {
      config = loadConfig(flags);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`msgin5g-gateway: ${err.message}\n`);
        if (err.problems.some((p) => p.startsWith('authorization:'))) {
          process.stderr.write('hint: pass --authorization open (accept every device) or --authorization ./authorization.yaml (see README)\n');
        }
        process.exit(2);
      }
      throw err;
    }
    const logger = createLogger(config.logLevel);
    let runtime: GatewayRuntime;
    let container: ReturnType<typeof createContainer>;
    try {
      container = createContainer(config, logger);
      runtime = container.get(GatewayRuntime);
    } catch (err) {
      const problem = err instanceof ConfigError ? err.message : (err as Error).message;
      process.stderr.write(`msgin5g-gateway: cannot start: ${problem}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    }
    // SIGHUP (a closed terminal, some supervisors) drains like SIGTERM/SIGINT: Node's default for it
    // is to die at once, which would skip the drain and the gateway's own de-registration.
    // A second SIGTERM/SIGINT/SIGHUP while stopping is logged and ignored: the stop is bounded by
    // drainTimeoutMs anyway, and `timeout`, process managers and a second Ctrl-C often send one.
    // Dying half-way would skip the gateway's own de-registration. SIGKILL stops at once (safely).
    let stopping = false;
    let admin: AdminListener | undefined;
    const shutdown = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'already stopping; the drain is bounded by drainTimeoutMs (SIGKILL stops at once)');
        return;
      }
      stopping = true;
      runtime
        .stop(signal)
        .then(() => admin?.close())
        .then(() => process.exit(0))
        .catch((err: unknown) => {
          logger.error({ err: String(err) }, 'error while stopping');
          process.exit(1);
        });
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGHUP', () => shutdown('SIGHUP'));
    try {
      if (config.admin.port !== 'off') {
        const store = container.get<RegistrationStore>(TOKENS.RegistrationStore);
        const app = await buildAdminApi(
          {
            store,
            metrics: container.get<GatewayMetrics>(TOKENS.Metrics),
            readiness: new GatewayReadiness({ procedures: runtime.procedures, store, runtime }),
            kicker: new ProceduresDeviceKicker(runtime.procedures),
            drain: () => shutdown('POST /drain'),
            logger,
          },
          { version: VERSION, ...(config.admin.token === undefined ? {} : { token: config.admin.token }) },
        );
        admin = await listenAdminApi(app, config.admin.host, config.admin.port, logger, config.admin.token !== undefined);
      }
      await runtime.start();
    } catch (err) {
      process.stderr.write(`msgin5g-gateway: cannot start: ${(err as Error).message}\n`);
      await runtime.stop('start failed').catch(() => undefined);
      await admin?.close().catch(() => undefined);
      process.exit(1);
    }
  });

const devices = program.command('devices').description('the devices of the running gateway (admin API), or of its store file when none runs');

/**
 * A Layer-2 ID as its link kind prints it (a MAC with colons). The store knows the instance, not
 * the kind: an instance named by its kind (`l2`, `l2-2`, `l2-lab`) finds it; others print as stored.
 */
function printLayer2Id(r: Registration): string {
  const d = DEVICE_LINKS.find((x) => r.link === x.kind || r.link.startsWith(`${x.kind}-`));
  return d?.layer2Ids.print?.(r.layer2Id) ?? r.layer2Id;
}

function formatRow(r: Registration): string {
  return [r.registrationId.padEnd(18), String(r.applicationId).padEnd(7), r.link.padEnd(8), printLayer2Id(r).padEnd(24), r.state.padEnd(14), new Date(r.createdAt).toISOString()].join(' ');
}

function readStore(spec: string) {
  if (!spec.startsWith('sqlite:') && spec !== 'memory') {
    process.stderr.write(`msgin5g-gateway: --store must be sqlite:PATH, got ${JSON.stringify(spec)}\n`);
    process.exit(2);
  }
  if (spec === 'memory') {
    process.stderr.write('msgin5g-gateway: a memory store lives only inside the running gateway; use --store sqlite:PATH\n');
    process.exit(2);
  }
  const path = spec.replace(/^sqlite:/, '');
  if (!existsSync(path)) {
    process.stderr.write(`msgin5g-gateway: no store at ${spec}: no such file (a gateway started with --store ${spec} creates it)\n`);
    process.exit(1);
  }
  try {
    return SqliteRegistrationStore.openReadOnly(path);
  } catch (err) {
    process.stderr.write(`msgin5g-gateway: cannot open store ${spec}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

/** Where the CLI finds a running gateway, and the store file it reads when none answers. */
const DEFAULT_ADMIN_URL = `http://${DEFAULT_ADMIN_HOST}:${DEFAULT_ADMIN_PORT}`;
const DEFAULT_STORE = 'sqlite:./data/gateway.db';
/** The store file read when no gateway answers: the gateway's own MSGIN5G_STORE when set, else its default. */
const fallbackStore = (): string => (process.env.MSGIN5G_STORE === undefined || process.env.MSGIN5G_STORE === '' ? DEFAULT_STORE : process.env.MSGIN5G_STORE);
/** Pages of 1,000 a `devices list` follows at most (10 million records): a bound, not a limit in practice. */
const MAX_LIST_PAGES = 10_000;

interface AdminOptions {
  adminUrl?: string;
  adminToken?: string;
}

function adminClient(opts: AdminOptions): AdminClient {
  const url = opts.adminUrl ?? DEFAULT_ADMIN_URL;
  if (!/^https?:\/\/[^\s/]+(\/.*)?$/.test(url)) {
    process.stderr.write(`msgin5g-gateway: --admin-url must be an http:// URL such as ${DEFAULT_ADMIN_URL}, got ${JSON.stringify(url)}\n`);
    process.exit(2);
  }
  const token = opts.adminToken ?? (process.env.MSGIN5G_ADMIN_TOKEN === '' ? undefined : process.env.MSGIN5G_ADMIN_TOKEN);
  return new AdminClient(url, token);
}

/** Exits for an answer that is not the one hoped for: 2 for a refused token, 1 otherwise. */
function failOnAnswer(what: string, answer: AdminAnswer): never {
  const p = problemOf(answer);
  const text = p === undefined ? `HTTP ${answer.status}` : `${p.title}${p.detail === undefined ? '' : `: ${p.detail}`}`;
  process.stderr.write(`msgin5g-gateway: ${what}: ${text}\n`);
  if (answer.status === 401) {
    process.stderr.write('hint: pass --admin-token or set MSGIN5G_ADMIN_TOKEN to the token the gateway was started with\n');
    process.exit(2);
  }
  process.exit(1);
}

/** A record of the API (times as ISO 8601) in the store's shape (times in ms), so both sources print alike. */
function fromApi(d: Record<string, unknown>): Registration {
  return {
    ...d,
    createdAt: Date.parse(String(d.createdAt)),
    updatedAt: Date.parse(String(d.updatedAt)),
    ...(d.expiresAt === undefined ? {} : { expiresAt: Date.parse(String(d.expiresAt)) }),
  } as unknown as Registration;
}

const adminUrlOption = () => new Option('--admin-url <url>', `admin API of the running gateway (default ${DEFAULT_ADMIN_URL})`);
const adminTokenOption = () => new Option('--admin-token <token>', 'its bearer token (default: environment MSGIN5G_ADMIN_TOKEN)');

interface ListOptions extends AdminOptions {
  store?: string;
  json?: boolean;
  link?: string;
  appId?: string;
  state?: string;
}

/** Every record through the API, page by page; undefined when no gateway answers. */
async function listThroughApi(client: AdminClient, query: URLSearchParams): Promise<Registration[] | undefined> {
  const all: Registration[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const q = new URLSearchParams(query);
    q.set('limit', '1000');
    if (cursor !== undefined) q.set('cursor', cursor);
    let answer: AdminAnswer;
    try {
      answer = await client.request('GET', `/devices?${q.toString()}`);
    } catch (err) {
      if (err instanceof AdminUnreachableError && page === 0) {
        process.stderr.write(`msgin5g-gateway: notice: ${err.message}; reading the store file instead\n`);
        return undefined;
      }
      throw err;
    }
    if (answer.status !== 200) failOnAnswer('devices list', answer);
    const body = answer.body as { devices: Array<Record<string, unknown>>; nextCursor?: string };
    all.push(...body.devices.map(fromApi));
    if (body.nextCursor === undefined) return all;
    cursor = body.nextCursor;
  }
  return all;
}

devices
  .command('list')
  .description('list the mappings of the running gateway (admin API); when no gateway answers, of the store file')
  .addOption(adminUrlOption())
  .addOption(adminTokenOption())
  .option('--store <spec>', `read this store file directly instead of asking the gateway: sqlite:PATH (without it, the file read when no gateway answers is MSGIN5G_STORE or ${DEFAULT_STORE})`)
  .option('--link <id>', 'only this device link instance')
  .option('--app-id <n>', 'only this Application ID')
  .addOption(new Option('--state <state>', 'only this state').choices([...REGISTRATION_STATES]))
  .option('--json', 'one JSON object per line instead of a table')
  .action(async (opts: ListOptions) => {
    const filter = { link: opts.link, applicationId: opts.appId === undefined ? undefined : Number(opts.appId), state: opts.state };
    if (opts.appId !== undefined && !parseApplicationId(opts.appId).ok) {
      process.stderr.write(`msgin5g-gateway: --app-id must be an Application ID 0..65535, got ${JSON.stringify(opts.appId)}\n`);
      process.exit(2);
    }
    let all: Registration[] | undefined;
    if (opts.store === undefined) {
      const query = new URLSearchParams();
      if (filter.link !== undefined) query.set('link', filter.link);
      if (filter.applicationId !== undefined) query.set('applicationId', String(filter.applicationId));
      if (filter.state !== undefined) query.set('state', filter.state);
      all = await listThroughApi(adminClient(opts), query);
    } else {
      process.stderr.write(`msgin5g-gateway: notice: reading the store file ${opts.store} directly (--store given); without --store the running gateway is asked\n`);
    }
    if (all === undefined) {
      const store = readStore(opts.store ?? fallbackStore());
      all = (await store.list()).filter(
        (r) => (filter.link === undefined || r.link === filter.link) && (filter.applicationId === undefined || r.applicationId === filter.applicationId) && (filter.state === undefined || r.state === filter.state),
      );
      await store.close();
    }
    if (opts.json) {
      for (const r of all) process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    process.stdout.write(`${'REGISTRATION ID'.padEnd(18)} ${'APP ID'.padEnd(7)} ${'LINK'.padEnd(8)} ${'LAYER-2 ID'.padEnd(24)} ${'STATE'.padEnd(14)} CREATED\n`);
    for (const r of all) process.stdout.write(`${formatRow(r)}\n`);
    process.stdout.write(`${all.length} registration(s)\n`);
  });

/** The Registration ID argument, or exit 2. */
function registrationIdArgument(id: string) {
  const rid = parseRegistrationId(id);
  if (!rid.ok) {
    process.stderr.write(`msgin5g-gateway: ${rid.error}\n`);
    process.exit(2);
  }
  return rid.value;
}

devices
  .command('show <registrationId>')
  .description('show one mapping by its Registration ID (hex), from the running gateway; when no gateway answers, from the store file (with its tombstone after de-registration)')
  .addOption(adminUrlOption())
  .addOption(adminTokenOption())
  .option('--store <spec>', `read this store file directly instead of asking the gateway: sqlite:PATH (without it, the file read when no gateway answers is MSGIN5G_STORE or ${DEFAULT_STORE})`)
  .option('--json', 'accepted for symmetry with `devices list --json`: the output is JSON anyway')
  .action(async (id: string, opts: AdminOptions & { store?: string }) => {
    const rid = registrationIdArgument(id);
    if (opts.store === undefined) {
      try {
        const answer = await adminClient(opts).request('GET', `/devices/${rid}`);
        if (answer.status !== 200) failOnAnswer(`devices show ${rid}`, answer);
        process.stdout.write(`${JSON.stringify(fromApi(answer.body as Record<string, unknown>), null, 2)}\n`);
        return;
      } catch (err) {
        if (!(err instanceof AdminUnreachableError)) throw err;
        process.stderr.write(`msgin5g-gateway: notice: ${err.message}; reading the store file instead\n`);
      }
    } else {
      process.stderr.write(`msgin5g-gateway: notice: reading the store file ${opts.store} directly (--store given); without --store the running gateway is asked\n`);
    }
    const spec = opts.store ?? fallbackStore();
    const store = readStore(spec);
    const r = await store.get(rid);
    const t = r === undefined ? await store.getTombstone(rid, Date.now()) : undefined;
    await store.close();
    if (r !== undefined) {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    } else if (t !== undefined) {
      process.stdout.write(`${JSON.stringify({ deregistered: true, tombstone: t }, null, 2)}\n`);
    } else {
      process.stderr.write(`msgin5g-gateway: no registration ${rid} in ${spec}\n`);
      process.exit(1);
    }
  });

devices
  .command('kick <registrationId>')
  .description('de-register a device at the MSGin5G Server on its behalf through the running gateway, which removes the mapping and keeps its tombstone (the device is told nothing: docs/adr/0010)')
  .addOption(adminUrlOption())
  .addOption(adminTokenOption())
  .action(async (id: string, opts: AdminOptions) => {
    const rid = registrationIdArgument(id);
    let answer: AdminAnswer;
    try {
      // The gateway waits for the server's answer, up to its deadline (30 s by default).
      answer = await adminClient(opts).request('DELETE', `/devices/${rid}`, 120_000);
    } catch (err) {
      if (!(err instanceof AdminUnreachableError)) throw err;
      process.stderr.write(`msgin5g-gateway: cannot kick ${rid}: ${err.message}; a kick needs a running gateway (the store file alone cannot de-register a device at the server)\n`);
      process.exit(1);
    }
    if (answer.status !== 200) failOnAnswer(`kick ${rid}`, answer);
    // The removed record as `devices show` prints it (times in ms since the epoch).
    const body = answer.body as { result?: unknown; device?: Record<string, unknown> };
    process.stdout.write(`${JSON.stringify(body.device === undefined ? body : { result: body.result, device: fromApi(body.device) }, null, 2)}\n`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`msgin5g-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
