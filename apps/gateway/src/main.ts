#!/usr/bin/env node
/**
 * `msgin5g-gateway` command line (commander):
 *   start            run the Gateway UE
 *   devices list     the mappings in a store
 *   devices show ID  one mapping by Registration ID
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
 */
import 'reflect-metadata';
import { Command, Option } from 'commander';
import { parseRegistrationId, type Registration, type RegistrationStore } from '@msgin5g/core';
import { buildAdminApi } from './admin/admin-api';
import { listenAdminApi, type AdminListener } from './admin/admin-listener';
import { UnavailableDeviceKicker } from './admin/device-kicker';
import { GatewayReadiness } from './admin/readiness';
import type { GatewayMetrics } from './gateway-metrics';
import { TOKENS } from './tokens';
import { ConfigError, ENVIRONMENT, loadConfig, type StartFlags } from './config';
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
            kicker: new UnavailableDeviceKicker(),
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

const devices = program.command('devices').description('inspect the mappings in a gateway store');

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

devices
  .command('list')
  .description('list every mapping (Registration ID, Application ID, link, Layer-2 ID, state)')
  .option('--store <spec>', 'the store to read: sqlite:PATH', 'sqlite:./data/gateway.db')
  .option('--json', 'one JSON object per line instead of a table')
  .action(async (opts: { store: string; json?: boolean }) => {
    const store = readStore(opts.store);
    const all = await store.list();
    await store.close();
    if (opts.json) {
      for (const r of all) process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    process.stdout.write(`${'REGISTRATION ID'.padEnd(18)} ${'APP ID'.padEnd(7)} ${'LINK'.padEnd(8)} ${'LAYER-2 ID'.padEnd(24)} ${'STATE'.padEnd(14)} CREATED\n`);
    for (const r of all) process.stdout.write(`${formatRow(r)}\n`);
    process.stdout.write(`${all.length} registration(s)\n`);
  });

devices
  .command('show <registrationId>')
  .description('show one mapping by its Registration ID (hex)')
  .option('--store <spec>', 'the store to read: sqlite:PATH', 'sqlite:./data/gateway.db')
  .action(async (id: string, opts: { store: string }) => {
    const rid = parseRegistrationId(id);
    if (!rid.ok) {
      process.stderr.write(`msgin5g-gateway: ${rid.error}\n`);
      process.exit(2);
    }
    const store = readStore(opts.store);
    const r = await store.get(rid.value);
    const t = r === undefined ? await store.getTombstone(rid.value, Date.now()) : undefined;
    await store.close();
    if (r !== undefined) {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    } else if (t !== undefined) {
      process.stdout.write(`${JSON.stringify({ deregistered: true, tombstone: t }, null, 2)}\n`);
    } else {
      process.stderr.write(`msgin5g-gateway: no registration ${rid.value} in ${opts.store}\n`);
      process.exit(1);
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`msgin5g-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
