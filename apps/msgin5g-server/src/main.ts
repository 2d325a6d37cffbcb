#!/usr/bin/env node
/**
 * `msgin5g-server`: runs the reference MSGin5G Server (see `reference-server.ts`).
 *
 * ```
 * node apps/msgin5g-server/dist/main.js [--host 127.0.0.1] [--port 5683] [--fault SPEC]... [--log-level info] [--check-mid-reuse]
 *     [--as-service-id as-demo] [--message-expiry-s 86400] [--max-stored-messages 10000] [--inbox-size 1000]
 * node apps/msgin5g-server/dist/main.js send --to UE_SERVICE_ID --payload TEXT|hex:HEX [--report] …
 * node apps/msgin5g-server/dist/main.js messages [--since SEQ] [--follow] …
 * ```
 * `send` and `messages` talk to a running server (`message-commands.ts`).
 * `--check-mid-reuse` counts requests reusing a (peer, Message ID) within 247 s (RFC 7252 §4.4; see
 * `reference-server.ts`); the stopping line carries the counters (`stats`) at every log level.
 * Logs are JSON lines (pino) on stdout: one per request, and a readiness line
 * `{"msg":"MSGin5G Server listening","host":…,"port":…}` once the socket is bound (printed at every
 * log level, because scripts and tests wait for it; with `--port 0` it carries the port chosen).
 * SIGINT/SIGTERM stop the server and exit 0; a bind failure exits 1; bad usage (an unknown option,
 * a bad --port or --fault) exits 2.
 *
 * The default host is 127.0.0.1, not `::`/0.0.0.0: this is a test and demo server with fault
 * injection and an unauthenticated admin resource, so reaching it from a network is opt-in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { DEFAULT_COAP_PORT } from '@msgin5g/protocol';
import { FAULT_GRAMMAR_HELP, formatFaultSpec, parseFaultSpec, type FaultSpec } from './fault-spec';
import { MESSAGE_COMMANDS_HELP, runMessages, runSend } from './message-commands';
import { DEFAULT_AS_SERVICE_ID, DEFAULT_MAX_STORED_MESSAGES, DEFAULT_MESSAGE_EXPIRY_MS } from './message-router';
import { DEFAULT_INBOX_SIZE } from './as-inbox';
import { createReferenceServer } from './reference-server';

/** This package's version (package.json, next to dist/). */
const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface CliOptions {
  readonly host: string;
  readonly port: number;
  readonly fault?: FaultSpec[];
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly checkMidReuse?: boolean;
  readonly asServiceId: string;
  readonly messageExpiryS: number;
  readonly maxStoredMessages: number;
  readonly inboxSize: number;
}

/** Runs the command with `argv` (as `process.argv`); resolves once the server is listening. */
export async function main(argv: readonly string[]): Promise<void> {
  const sub = argv[2];
  if (sub === 'send' || sub === 'messages') {
    process.exitCode = sub === 'send' ? await runSend(argv.slice(3)) : await runMessages(argv.slice(3));
    return;
  }
  const program = new Command('msgin5g-server')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .usage('[options] | send … | messages …')
    .description(
      'Reference MSGin5G Server over CoAP (MSGin5G-1, TS 24.538): REG/DEREG registry, MSG/IMDN routing to gateways (notifyUri) with store and forward, a pretend Application Server, GET /registry, GET /messages, fault injection.',
    )
    .option('--host <address>', 'address to bind: IPv4/IPv6 literal or name ("::" for every address)', '127.0.0.1')
    .option('--port <port>', 'UDP port; 0 picks a free one (reported in the readiness line)', parsePort, DEFAULT_COAP_PORT)
    .option('--fault <spec>', 'inject a fault; repeatable, first match applies (grammar below)', collectFault)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--check-mid-reuse', 'count requests that reuse a (peer, Message ID) within EXCHANGE_LIFETIME, 247 s (RFC 7252 §4.4)')
    .option('--as-service-id <id>', 'AS Service ID of the pretend Application Server: MSGs to it are kept in GET /messages', parseServiceAddress, DEFAULT_AS_SERVICE_ID)
    .option('--message-expiry-s <s>', 'how long a MSG or IMDN waits for its gateway before it is dropped (and the sender told), s', parsePositive, DEFAULT_MESSAGE_EXPIRY_MS / 1000)
    .option('--max-stored-messages <n>', 'most MSGs and IMDNs waiting for delivery; more are refused with CONGESTION', parsePositive, DEFAULT_MAX_STORED_MESSAGES)
    .option('--inbox-size <n>', 'entries the pretend AS keeps (the newest)', parsePositive, DEFAULT_INBOX_SIZE)
    .addHelpText('after', `\n${MESSAGE_COMMANDS_HELP}\n\n${FAULT_GRAMMAR_HELP}`)
    // Bad usage: one line saying what is wrong and where the help is, exit 2 (as the gateway and the
    // device simulator); not the whole help with the fault grammar.
    .showHelpAfterError('(msgin5g-server --help lists the options and the fault grammar)')
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  program.parse([...argv]);
  const opts = program.opts<CliOptions>();

  const logger = pino({ level: opts.logLevel, base: { service: 'msgin5g-server' }, timestamp: pino.stdTimeFunctions.isoTime });
  const announce = logger.child({}, { level: 'info' });
  const faults = opts.fault ?? [];
  const server = createReferenceServer({
    host: opts.host,
    port: opts.port,
    faults,
    logger,
    checkMessageIdReuse: opts.checkMidReuse === true,
    messages: { asServiceId: opts.asServiceId, messageExpiryMs: opts.messageExpiryS * 1000, maxStoredMessages: opts.maxStoredMessages, inboxSize: opts.inboxSize },
  });

  let address: { host: string; port: number };
  try {
    address = await server.start();
  } catch (err) {
    logger.fatal({ err: String(err) }, 'MSGin5G Server cannot start');
    process.exitCode = 1;
    return;
  }
  announce.info({ host: address.host, port: address.port, faults: faults.map(formatFaultSpec), asServiceId: opts.asServiceId }, 'MSGin5G Server listening');

  const stop = (signal: NodeJS.Signals): void => {
    announce.info({ signal, stats: server.stats, messages: { ...server.messages.stats, waiting: server.messages.stored }, registered: server.registry.size }, 'MSGin5G Server stopping');
    // The process then ends by itself: nothing else holds the event loop (coap's global agents,
    // opened at import, are unbound sockets, which do not).
    void server.stop().then(() => {
      process.exitCode = 0;
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function parsePort(value: string): number {
  const port = /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('a port is 0..65535');
  return port;
}

function parsePositive(value: string): number {
  const n = /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1)) throw new InvalidArgumentError('a whole number ≥ 1');
  return n;
}

function parseServiceAddress(value: string): string {
  const octets = Buffer.byteLength(value, 'utf8');
  if (octets < 5 || octets > 255) throw new InvalidArgumentError('an AS Service ID is 5..255 octets of UTF-8');
  return value;
}

function collectFault(value: string, previous: FaultSpec[] | undefined): FaultSpec[] {
  const parsed = parseFaultSpec(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return [...(previous ?? []), parsed.value];
}

if (require.main === module) {
  // `… | head -1` closes the pipe early: the next write fails with EPIPE. Exit quietly (0) instead
  // of crashing with a stack trace. (pino logs go to fd 1 through its own stream, not process.stdout.)
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main(process.argv).catch((err: unknown) => {
    process.stderr.write(`msgin5g-server: ${String(err)}\n`);
    process.exitCode = 1;
  });
}
