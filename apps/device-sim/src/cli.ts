/**
 * The `device` CLI (`pnpm --silent device …`): a constrained device registering and de-registering with a
 * Gateway UE over the UDP link (default), the L2 link (`--link l2 --interface IF --gateway-mac MAC
 * [--mac SRC] [--ethertype 0x88b5]`; Linux, root or CAP_NET_RAW), or the CoAP device link
 * (`--link coap --gateway H:P [--path msgin5g]`, JSON bodies as in docs/wire-formats.md §3.3), or a
 * serial line (`--link serial --serial-path PATH [--serial-baud N]`, SLIP frames as in §3.4). Command
 * and option names are a contract other tools drive.
 *
 * Commands: `register`, `deregister`, and for messages (docs/wire-formats.md §5; flows in
 * `messaging.ts`) `send` and `listen`, each optionally `--register`ing first from the same socket.
 *
 * Output: JSON lines on stdout (see `message-json.ts`): one per run for register / deregister, one
 * per response, report or message for send / listen; diagnostics on stderr.
 * Exit codes: 0 SUCCESS / ACCEPTED / every message awaited arrived, 1 FAILURE, STATUS or too few
 * messages, 2 no answer (`{"error":"TIMEOUT",…}`), a local socket problem (`{"error":"BIND",…}`)
 * or bad arguments (message on stderr only).
 *
 * Rejected alternative: commander's default `process.exit` on a usage error (exit code 1, which
 * would read as a FAILURE response): `exitOverride` maps usage errors to 2 and keeps `run`
 * testable without a child process.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  ADDRESS_TYPES,
  LIFETIME_S_MAX,
  LIFETIME_S_MIN,
  PAYLOAD_MAX_OCTETS,
  SERVICE_ADDRESS_MAX_OCTETS,
  SERVICE_ADDRESS_MIN_OCTETS,
  parseApplicationId,
  parseMacLayer2Id,
  parseMessageId,
  parseRegistrationId,
  type AddressType,
  type ApplicationId,
  type DeviceRequest,
  type MessageId,
  type MessageSendingRequest,
  type RegistrationId,
} from '@msgin5g/core';
import type { FrameSocket } from '@msgin5g/raw-ethernet';
import { DEFAULT_L2_ETHERTYPE, formatMac, isUnicastMac, isUsableEtherType } from '@msgin5g/protocol';
import { formatGatewayAddress, parseGatewayAddress, type GatewayAddress } from './gateway-address';
import { CoapDevice, CoapDeviceError } from './coap-device';
import { CoapMessagingChannel } from './coap-channel';
import { ACK_TIMEOUT_MS, CoapEndpoint, CoapEndpointError } from './coap-endpoint';
import { M5MessagingChannel, type M5ChannelOptions } from './m5-channel';
import { registerFirst, runListen, runSend, type MessagingChannel } from './messaging';
import { L2Device, L2DeviceError } from './l2-device';
import { messageJson } from './message-json';
import { SerialDevice, SerialDeviceError } from './serial-device';
import { UdpDevice, UdpDeviceError } from './udp-device';

/** Exit codes of the CLI. */
export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_NO_ANSWER = 2;

/** Default local UDP port: a device is known by its source address, so it must be stable. */
export const DEFAULT_LOCAL_PORT = 5691;

/** Where the CLI writes; `process.stdout`/`stderr` in production, buffers in tests. */
/**
 * Answers that mean "not now" rather than "no": the Failure reasons CONGESTION (the gateway is
 * loaded, draining or rate-limiting this device) and GATEWAY_NOT_REGISTERED (the gateway is not yet
 * registered with the server), and on the CoAP link 5.03 Service Unavailable (the device has too
 * many requests pending; RFC 7252 §5.9.3.4). A real device waits and asks again; so does the simulator.
 */
export const LATER_REASONS: ReadonlySet<string> = new Set(['CONGESTION', 'GATEWAY_NOT_REGISTERED', '5.03']);

/**
 * Asks (`ask()` is one full exchange, with its own resends), and while the answer is a failure whose
 * reason is in {@link LATER_REASONS}, waits `waitMs` and asks again, at most `times` more times.
 * Resolves the last answer.
 */
export async function askUntilDefinitive<A>(ask: () => Promise<A>, reasonOf: (answer: A) => string | undefined, waitMs: number, times: number, io: CliIo): Promise<A> {
  let answer = await ask();
  for (let i = 0; i < times; i++) {
    const reason = reasonOf(answer);
    if (reason === undefined || !LATER_REASONS.has(reason)) break;
    io.err(`device: the gateway answered ${reason}; asking again in ${waitMs} ms (${i + 1}/${times})\n`);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    answer = await ask();
  }
  return answer;
}

/** The Failure reason of a decoded answer, if it is a failure response. */
function failureReasonOf(message: { readonly kind: string; readonly result?: string; readonly failureReason?: string }): string | undefined {
  return message.kind !== 'STATUS' && message.result === 'FAILURE' ? message.failureReason : undefined;
}

export interface CliIo {
  out(line: string): void;
  err(text: string): void;
  /**
   * Makes the frame socket for `--link l2` (tests pass an in-memory one). Default: a raw
   * `AF_PACKET` socket on the interface.
   */
  frameSocket?(interfaceName: string, etherType: number): FrameSocket;
}

interface CommonOptions {
  link: 'udp' | 'l2' | 'coap' | 'serial';
  path?: string;
  gateway?: GatewayAddress;
  localPort: number;
  localHost?: string;
  timeoutMs: number;
  retries: number;
  interface?: string;
  gatewayMac?: string;
  mac?: string;
  ethertype?: number;
  serialPath?: string;
  serialBaud?: number;
}

/** Options that only one link kind takes. */
const UDP_ONLY = ['gateway', 'localPort', 'localHost'] as const;
const L2_ONLY = ['interface', 'gatewayMac', 'mac', 'ethertype'] as const;
const SERIAL_ONLY = ['serialPath', 'serialBaud'] as const;
const FLAG: Record<(typeof UDP_ONLY)[number] | (typeof L2_ONLY)[number] | (typeof SERIAL_ONLY)[number], string> = {
  gateway: '--gateway',
  localPort: '--local-port',
  localHost: '--local-host',
  interface: '--interface',
  gatewayMac: '--gateway-mac',
  mac: '--mac',
  ethertype: '--ethertype',
  serialPath: '--serial-path',
  serialBaud: '--serial-baud',
};

const LOCAL_PORT_HELP = 'udp, coap: local UDP port (a device is known by its source address; use the same --local-port for register, deregister, send and listen)';

/** This package's version (package.json, next to dist/). */
const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Runs the CLI on `argv` (the arguments after the script name) and resolves with the exit code.
 * Never throws for user errors; bugs propagate.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = EXIT_NO_ANSWER;
  const program = new Command('device')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .description('MSGin5G constrained-device simulator: M5 binary over UDP (docs/wire-formats.md §3.2), in Ethernet frames (§3.1) or in SLIP frames on a serial line (§3.4), or JSON over CoAP (§3.3), to a Gateway UE')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      [
        '',
        'register and deregister print one JSON line: the decoded response. send prints the MESSAGE SENDING RESPONSE (and, with --report, the',
        'DELIVERY REPORT RECEIVING); listen prints one line per message. With --register, send and listen print the REGISTRATION RESPONSE first.',
        'Exit codes: 0 SUCCESS / ACCEPTED / all messages arrived, 1 FAILURE, STATUS, or too few messages before --timeout-s,',
        '2 no answer (timeout), local socket error or bad arguments.',
        '',
        'A device is known by its Layer-2 ID, so send and listen must come from where it registered: the same --local-port (udp, coap),',
        '--mac (l2) or --serial-path (serial). One shell:  device register … --app-id 42   then   device listen …   or   device send …',
        'One process:  device listen --register --app-id 42 …   /   device send --register --app-id 42 …',
      ].join('\n'),
    );

  const withCommon = (cmd: Command): Command =>
    cmd
      .addOption(
        new Option('--link <kind>', 'device link: udp (M5 binary in UDP datagrams), l2 (M5 binary in Ethernet frames; Linux, root or CAP_NET_RAW), coap (JSON in CoAP POST, Annex A.3 style) or serial (M5 binary in SLIP frames on a serial line)')
          .choices(['udp', 'l2', 'coap', 'serial'])
          .default('udp'),
      )
      .addOption(new Option('--path <segment>', 'coap: Uri-Path of the gateway\'s CoAP device link (default msgin5g)'))
      .addOption(new Option('--gateway <host:port>', "udp, coap: the gateway's UDP or CoAP device port: 127.0.0.1:5690, [::1]:5690, localhost:5690 (required for those links)").argParser(gatewayArg))
      .addOption(new Option('--interface <name>', 'l2: network interface to send frames on (required)').argParser(interfaceArg))
      .addOption(new Option('--gateway-mac <mac>', "l2: the gateway's specified MAC address, 02:00:00:00:00:01 (required)").argParser(macArg('--gateway-mac')))
      .addOption(new Option('--mac <mac>', "l2: this device's source MAC, its Layer-2 ID (default: the interface's MAC; use the same for register, deregister, send and listen)").argParser(macArg('--mac')))
      .addOption(new Option('--ethertype <0xNNNN>', `l2: EtherType of M5 frames (default: 0x${DEFAULT_L2_ETHERTYPE.toString(16)})`).argParser(etherTypeArg))
      .addOption(new Option('--serial-path <path>', "serial: this device's end of the line, /dev/ttyUSB0 or the device side of a socat pty pair (required)").argParser(serialPathArg))
      .addOption(new Option('--serial-baud <n>', 'serial: line speed, baud, 8N1, no flow control (default 115200)').argParser(intArg('--serial-baud', 1, 4_000_000)))
      .addOption(new Option('--local-port <port>', LOCAL_PORT_HELP).argParser(intArg('--local-port', 0, 65535)).default(DEFAULT_LOCAL_PORT))
      .addOption(new Option('--local-host <ip>', 'local IP address to bind (default: any address of the gateway IP version)').argParser(ipArg))
      .addOption(new Option('--timeout-ms <ms>', 'wait per attempt before resending the same bytes').argParser(intArg('--timeout-ms', 1, 600_000)).default(4000))
      .addOption(new Option('--retries <n>', 'resends after the first attempt, as a real device would (4 s × 9 attempts outlasts the gateway default 30 s deadline, so its SERVER_UNREACHABLE answer arrives)').argParser(intArg('--retries', 0, 100)).default(8));

  withCommon(program.command('register').description('send a REGISTRATION REQUEST and print the REGISTRATION RESPONSE'))
    .addOption(new Option('--app-id <n>', 'Application ID, 0..65535').argParser(appIdArg).makeOptionMandatory())
    .addOption(
      new Option('--lifetime-s <s>', 'registration lifetime to ask for, seconds, 1..4294967295 (provisional IE 0x24; the answer prints the lifetime granted as lifetimeS)').argParser(
        intArg('--lifetime-s', LIFETIME_S_MIN, LIFETIME_S_MAX),
      ),
    )
    .action(async (opts: CommonOptions & { appId: ApplicationId; lifetimeS?: number }, cmd: Command) => {
      const request: DeviceRequest =
        opts.lifetimeS === undefined ? { kind: 'REGISTRATION_REQUEST', applicationId: opts.appId } : { kind: 'REGISTRATION_REQUEST', applicationId: opts.appId, lifetimeS: opts.lifetimeS };
      exitCode = await exchange(checkLinkOptions(opts, cmd), request, io);
    });

  withCommon(program.command('deregister').description('send a DE-REGISTRATION REQUEST and print the DE-REGISTRATION RESPONSE'))
    .addOption(new Option('--registration-id <hex>', 'Registration ID from the registration response (2..32 hex characters)').argParser(registrationIdArg).makeOptionMandatory())
    .action(async (opts: CommonOptions & { registrationId: RegistrationId }, cmd: Command) => {
      exitCode = await exchange(checkLinkOptions(opts, cmd), { kind: 'DEREGISTRATION_REQUEST', registrationId: opts.registrationId }, io);
    });


  withCommon(program.command('send').description('send a MESSAGE SENDING REQUEST (docs/wire-formats.md §5.2) and print the MESSAGE SENDING RESPONSE; with --report, then wait for the DELIVERY REPORT RECEIVING'))
    .addOption(new Option('--to <address>', 'Target address: a UE Service ID or an AS Service ID, 5..255 octets of UTF-8').argParser(addressArg).makeOptionMandatory())
    .addOption(new Option('--payload <text|hex:HEX>', 'the message: text sent as UTF-8, or hex:0102ff for octets; 1..65535 octets').argParser(payloadArg).makeOptionMandatory())
    .addOption(new Option('--app-id <n>', 'Application ID of the sending Application Client, 0..65535 (needed when the device registered more than one; required with --register)').argParser(appIdArg))
    .addOption(new Option('--message-id <hex>', 'Message ID, 32 hex characters (default: random); resends use the same').argParser(messageIdArg))
    .addOption(new Option('--target-type <type>', 'what --to names').choices(ADDRESS_TYPES as readonly string[]).default('UE'))
    .addOption(new Option('--report', 'ask for a delivery status report and wait for it (DELIVERY REPORT RECEIVING about this Message ID)'))
    .addOption(new Option('--report-timeout-s <s>', 'with --report: how long to wait for the report, seconds').argParser(intArg('--report-timeout-s', 1, 86_400)).default(60))
    .addOption(new Option('--register', 'register first (REGISTRATION REQUEST with --app-id) from the same socket, in this process'))
    .action(async (opts: CommonOptions & SendOptions, cmd: Command) => {
      const link = checkLinkOptions(opts, cmd);
      if (opts.register === true && opts.appId === undefined) cmd.error("error: --register needs --app-id", { exitCode: EXIT_NO_ANSWER, code: 'commander.usage' });
      const request: MessageSendingRequest = {
        kind: 'MESSAGE_SENDING_REQUEST',
        targetAddress: opts.to,
        messageId: opts.messageId ?? (randomBytes(16).toString('hex') as MessageId),
        payload: opts.payload,
        ...(opts.appId === undefined ? {} : { applicationId: opts.appId }),
        deliveryStatusRequired: opts.report === true,
        targetType: opts.targetType,
      };
      exitCode = await withChannel(link, opts.appId, io, async (channel) => {
        if (opts.register === true && opts.appId !== undefined) {
          const stop = await registerFirst(channel, opts.appId, io);
          if (stop !== undefined) return stop;
        }
        return runSend(channel, request, opts.report === true ? opts.reportTimeoutS * 1000 : undefined, io);
      });
    });

  withCommon(program.command('listen').description('print each MESSAGE RECEIVING and DELIVERY REPORT RECEIVING for the device (one JSON line each, a repeated Message ID once), acknowledging every copy'))
    .addOption(new Option('--count <n>', 'exit 0 after this many messages (and reports)').argParser(intArg('--count', 1, 1_000_000)).default(1))
    .addOption(new Option('--timeout-s <s>', 'exit 1 if fewer arrived within this many seconds').argParser(intArg('--timeout-s', 1, 86_400)).default(60))
    .addOption(new Option('--report', 'send a DELIVERY REPORT SENDING REQUEST (delivered) to the originator of each message that asks for a report'))
    .addOption(new Option('--app-id <n>', 'Application ID for acks and reports when a message carries none, 0..65535 (required with --register)').argParser(appIdArg))
    .addOption(new Option('--register', 'register first (REGISTRATION REQUEST with --app-id) from the same socket, in this process'))
    .action(async (opts: CommonOptions & ListenCommandOptions, cmd: Command) => {
      const link = checkLinkOptions(opts, cmd);
      if (opts.register === true && opts.appId === undefined) cmd.error("error: --register needs --app-id", { exitCode: EXIT_NO_ANSWER, code: 'commander.usage' });
      exitCode = await withChannel(link, opts.appId, io, async (channel) => {
        if (opts.register === true && opts.appId !== undefined) {
          const stop = await registerFirst(channel, opts.appId, io);
          if (stop !== undefined) return stop;
        }
        return runListen(channel, { count: opts.count, timeoutMs: opts.timeoutS * 1000, report: opts.report === true, ...(opts.appId === undefined ? {} : { applicationId: opts.appId }) }, io);
      });
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are not errors; everything else is a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT_SUCCESS : EXIT_NO_ANSWER;
    }
    throw err;
  }
  return exitCode;
}

/** The options of one link kind, checked together (commander checks each alone). Usage errors exit 2. */
type CheckedOptions =
  | (CommonOptions & { link: 'udp'; gateway: GatewayAddress })
  | (CommonOptions & { link: 'coap'; gateway: GatewayAddress })
  | (CommonOptions & { link: 'l2'; interface: string; gatewayMac: string })
  | (CommonOptions & { link: 'serial'; serialPath: string });

function checkLinkOptions(opts: CommonOptions, cmd: Command): CheckedOptions {
  const given = (key: keyof typeof FLAG) => cmd.getOptionValueSource(key) === 'cli';
  const usage = (message: string): never => cmd.error(`error: ${message}`, { exitCode: EXIT_NO_ANSWER, code: 'commander.usage' });
  if (opts.link === 'serial') {
    for (const key of [...UDP_ONLY, ...L2_ONLY]) if (given(key)) usage(`${FLAG[key]} does not apply to --link serial`);
    if (opts.path !== undefined) usage('--path applies to --link coap only');
    if (opts.serialPath === undefined) usage("required option '--serial-path <path>' not specified (--link serial)");
    return opts as CheckedOptions;
  }
  for (const key of SERIAL_ONLY) if (given(key)) usage(`${FLAG[key]} applies to --link serial only`);
  if (opts.link === 'udp' || opts.link === 'coap') {
    for (const key of L2_ONLY) if (given(key)) usage(`${FLAG[key]} applies to --link l2 only`);
    if (opts.link === 'udp' && opts.path !== undefined) usage('--path applies to --link coap only');
    if (opts.gateway === undefined) usage("required option '--gateway <host:port>' not specified");
    return opts as CheckedOptions;
  }
  if (opts.path !== undefined) usage('--path applies to --link coap only');
  for (const key of UDP_ONLY) if (given(key)) usage(`${FLAG[key]} applies to --link udp only`);
  if (opts.interface === undefined) usage("required option '--interface <name>' not specified (--link l2)");
  if (opts.gatewayMac === undefined) usage("required option '--gateway-mac <mac>' not specified (--link l2)");
  return opts as CheckedOptions;
}

async function exchange(opts: CheckedOptions, request: DeviceRequest, io: CliIo): Promise<number> {
  switch (opts.link) {
    case 'coap':
      return exchangeCoap(opts, request, io);
    case 'l2':
    case 'udp':
    case 'serial':
      return exchangeM5(opts, request, io);
  }
}

/** `--link coap`: one CON POST; the whole exchange is bounded by timeout × (retries + 1). */
async function exchangeCoap(opts: CheckedOptions & { link: 'coap' }, request: DeviceRequest, io: CliIo): Promise<number> {
  const gateway = formatGatewayAddress(opts.gateway);
  let device: CoapDevice;
  try {
    device = await CoapDevice.open({ gateway: opts.gateway, localPort: opts.localPort, ...(opts.localHost === undefined ? {} : { localHost: opts.localHost }), ...(opts.path === undefined ? {} : { uriPath: opts.path }) });
  } catch (err) {
    if (!(err instanceof CoapDeviceError)) throw err;
    io.err(`device: ${err.message}\n`);
    io.out(JSON.stringify({ error: err.reason, message: err.message, gateway }));
    return EXIT_NO_ANSWER;
  }
  try {
    const answer = await askUntilDefinitive(
      () => device.exchange(request, opts.timeoutMs * (opts.retries + 1)),
      (a) => (a.kind === 'COAP_ERROR' ? a.code : failureReasonOf(a.message)),
      opts.timeoutMs,
      opts.retries,
      io,
    );
    const text = new TextDecoder().decode(answer.body);
    if (answer.kind === 'COAP_ERROR') {
      io.out(JSON.stringify({ type: 'COAP_ERROR', code: answer.code, layer2Id: device.layer2Id, body: text }));
      return EXIT_FAILURE;
    }
    const line = messageJson(answer.message, answer.body, device.layer2Id);
    delete line['hex'];
    io.out(JSON.stringify({ ...line, coapCode: answer.code, json: text }));
    return answer.message.result === 'SUCCESS' ? EXIT_SUCCESS : EXIT_FAILURE;
  } catch (err) {
    if (!(err instanceof CoapDeviceError)) throw err;
    io.err(`device: ${err.message}\n`);
    io.out(JSON.stringify({ error: err.reason, gateway, layer2Id: device.layer2Id, message: err.message }));
    return EXIT_NO_ANSWER;
  } finally {
    await device.close();
  }
}

/** What an M5 device (UDP, L2, serial) needs for register/deregister and for the messaging channel. */
type OpenedM5Device = Omit<M5ChannelOptions, 'request' | 'applicationId' | 'io'>;

/**
 * Opens the device of an M5 link (UDP, L2, serial) with how its errors are printed; a device that
 * cannot open prints `{"error":"BIND",…}` (or the open error) and gives exit code 2. `--link
 * serial`: SLIP frames on the device's end of the line; its lines have `"layer2Id":null` (the
 * gateway knows the device by the gateway's port path, which the device cannot see) and the
 * device's own `port`.
 */
async function openM5Device(opts: CheckedOptions & { link: 'udp' | 'l2' | 'serial' }, io: CliIo): Promise<OpenedM5Device | number> {
  const refuse = (message: string, line: Record<string, unknown>): number => {
    io.err(`device: ${message}\n`);
    io.out(JSON.stringify(line));
    return EXIT_NO_ANSWER;
  };
  switch (opts.link) {
    case 'udp': {
      let device: UdpDevice;
      try {
        device = await UdpDevice.open({ gateway: opts.gateway, localPort: opts.localPort, ...(opts.localHost === undefined ? {} : { localHost: opts.localHost }) });
      } catch (err) {
        if (!(err instanceof UdpDeviceError)) throw err;
        return refuse(err.message, { error: err.reason, message: err.message, gateway: formatGatewayAddress(opts.gateway) });
      }
      return {
        device,
        layer2Id: device.layer2Id,
        isTimeout: (err) => err instanceof UdpDeviceError && err.reason === 'TIMEOUT',
        describeError: (err) =>
          err instanceof UdpDeviceError
            ? {
                message: `${err.message}${err.details.lastSocketError === 'ECONNREFUSED' ? ' (ECONNREFUSED: nothing listens on the gateway port?)' : ''}`,
                line: {
                  error: err.reason,
                  gateway: formatGatewayAddress(device.gateway),
                  layer2Id: device.layer2Id,
                  ...(err.details.attempts === undefined ? {} : { attempts: err.details.attempts }),
                  timeoutMs: opts.timeoutMs,
                  ...(err.details.lastSocketError === undefined ? {} : { lastSocketError: err.details.lastSocketError }),
                },
              }
            : undefined,
      };
    }
    case 'l2': {
      const etherType = opts.ethertype ?? DEFAULT_L2_ETHERTYPE;
      const where = { interface: opts.interface, gatewayMac: formatMac(opts.gatewayMac) };
      let device: L2Device;
      try {
        device = await L2Device.open({
          gatewayMac: opts.gatewayMac,
          etherType,
          ...(io.frameSocket === undefined ? { interfaceName: opts.interface } : { socket: io.frameSocket(opts.interface, etherType) }),
          ...(opts.mac === undefined ? {} : { mac: opts.mac }),
        });
      } catch (err) {
        if (!(err instanceof L2DeviceError)) throw err;
        return refuse(err.message, { error: err.reason === 'BAD_ARGUMENT' ? 'BIND' : err.reason, message: err.message, ...where, ...(err.details.code === undefined ? {} : { code: err.details.code }) });
      }
      return {
        device,
        layer2Id: device.layer2Id,
        isTimeout: (err) => err instanceof L2DeviceError && err.reason === 'TIMEOUT',
        describeError: (err) =>
          err instanceof L2DeviceError
            ? {
                message: err.message,
                line: {
                  error: err.reason,
                  ...where,
                  layer2Id: device.layer2Id,
                  ...(err.details.attempts === undefined ? {} : { attempts: err.details.attempts }),
                  timeoutMs: opts.timeoutMs,
                  ...(err.details.code === undefined ? {} : { code: err.details.code }),
                },
              }
            : undefined,
      };
    }
    case 'serial': {
      const port = opts.serialPath;
      let device: SerialDevice;
      try {
        device = await SerialDevice.open({ path: port, ...(opts.serialBaud === undefined ? {} : { baudRate: opts.serialBaud }) });
      } catch (err) {
        if (!(err instanceof SerialDeviceError)) throw err;
        return refuse(err.message, { error: err.reason === 'BAD_ARGUMENT' ? 'BIND' : err.reason, message: err.message, port });
      }
      return {
        device,
        layer2Id: '',
        lineExtra: { layer2Id: null, port },
        isTimeout: (err) => err instanceof SerialDeviceError && err.reason === 'TIMEOUT',
        describeError: (err) =>
          err instanceof SerialDeviceError
            ? { message: err.message, line: { error: err.reason, port, ...(err.details.attempts === undefined ? {} : { attempts: err.details.attempts }), timeoutMs: opts.timeoutMs } }
            : undefined,
      };
    }
  }
}

/** `register` / `deregister` over an M5 link: the request resent on the device's schedule until an answer that is not CONGESTION-like. */
async function exchangeM5(opts: CheckedOptions & { link: 'udp' | 'l2' | 'serial' }, request: DeviceRequest, io: CliIo): Promise<number> {
  const opened = await openM5Device(opts, io);
  if (typeof opened === 'number') return opened;
  const { device, layer2Id, lineExtra, describeError } = opened;
  try {
    const answer = await askUntilDefinitive(() => device.exchange(request, { timeoutMs: opts.timeoutMs, retries: opts.retries }), (a) => failureReasonOf(a.message), opts.timeoutMs, opts.retries, io);
    io.out(JSON.stringify({ ...messageJson(answer.message, answer.bytes, layer2Id), ...lineExtra }));
    return answer.message.kind !== 'STATUS' && answer.message.result === 'SUCCESS' ? EXIT_SUCCESS : EXIT_FAILURE;
  } catch (err) {
    const described = describeError(err);
    if (described === undefined) throw err;
    io.err(`device: ${described.message}\n`);
    io.out(JSON.stringify(described.line));
    return EXIT_NO_ANSWER;
  } finally {
    await device.close();
  }
}

interface SendOptions {
  to: string;
  payload: Uint8Array;
  appId?: ApplicationId;
  messageId?: MessageId;
  targetType: AddressType;
  report?: boolean;
  reportTimeoutS: number;
  register?: boolean;
}

interface ListenCommandOptions {
  count: number;
  timeoutS: number;
  report?: boolean;
  appId?: ApplicationId;
  register?: boolean;
}

/**
 * Opens the device's link as a messaging channel, runs `use` on it and closes it. A device that
 * cannot open prints `{"error":"BIND",…}` (as register does) and gives exit code 2.
 */
async function withChannel(opts: CheckedOptions, applicationId: ApplicationId | undefined, io: CliIo, use: (channel: MessagingChannel) => Promise<number>): Promise<number> {
  const channel = await openChannel(opts, applicationId, io);
  if (typeof channel === 'number') return channel;
  try {
    return await use(channel);
  } finally {
    await channel.close();
  }
}

async function openChannel(opts: CheckedOptions, applicationId: ApplicationId | undefined, io: CliIo): Promise<MessagingChannel | number> {
  const request = { timeoutMs: opts.timeoutMs, retries: opts.retries };
  const app = applicationId === undefined ? {} : { applicationId };
  if (opts.link !== 'coap') {
    const opened = await openM5Device(opts, io);
    return typeof opened === 'number' ? opened : new M5MessagingChannel({ ...opened, request, ...app, io });
  }
  let endpoint: CoapEndpoint;
  try {
    endpoint = await CoapEndpoint.open({
      gateway: opts.gateway,
      localPort: opts.localPort,
      ackTimeoutMs: Math.min(opts.timeoutMs, ACK_TIMEOUT_MS),
      ...(opts.localHost === undefined ? {} : { localHost: opts.localHost }),
      ...(opts.path === undefined ? {} : { uriPath: opts.path }),
    });
  } catch (err) {
    if (!(err instanceof CoapEndpointError)) throw err;
    io.err(`device: ${err.message}\n`);
    io.out(JSON.stringify({ error: err.reason, message: err.message, gateway: formatGatewayAddress(opts.gateway) }));
    return EXIT_NO_ANSWER;
  }
  return new CoapMessagingChannel(endpoint, opts.timeoutMs * (opts.retries + 1), io);
}

function addressArg(value: string): string {
  const octets = Buffer.byteLength(value, 'utf8');
  if (octets < SERVICE_ADDRESS_MIN_OCTETS || octets > SERVICE_ADDRESS_MAX_OCTETS) {
    throw new InvalidArgumentError(`--to must be a UE or AS Service ID of ${SERVICE_ADDRESS_MIN_OCTETS}..${SERVICE_ADDRESS_MAX_OCTETS} octets of UTF-8, got ${octets}`);
  }
  return value;
}

function payloadArg(value: string): Uint8Array {
  let bytes: Uint8Array;
  if (value.startsWith('hex:')) {
    const h = value.slice(4);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(h)) throw new InvalidArgumentError('--payload hex:… needs an even number of hex digits, at least 2');
    bytes = Uint8Array.from(Buffer.from(h, 'hex'));
  } else bytes = new TextEncoder().encode(value);
  if (bytes.length < 1 || bytes.length > PAYLOAD_MAX_OCTETS) throw new InvalidArgumentError(`--payload must be 1..${PAYLOAD_MAX_OCTETS} octets, got ${bytes.length}`);
  return bytes;
}

function messageIdArg(value: string): MessageId {
  const parsed = parseMessageId(value);
  if (!parsed.ok) throw new InvalidArgumentError(`--message-id: ${parsed.error}`);
  return parsed.value;
}

function gatewayArg(value: string): GatewayAddress {
  const parsed = parseGatewayAddress(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return parsed.value;
}

function appIdArg(value: string): ApplicationId {
  const parsed = parseApplicationId(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return parsed.value;
}

function registrationIdArg(value: string): RegistrationId {
  const parsed = parseRegistrationId(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return parsed.value;
}

function intArg(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}`);
    return Number(value);
  };
}

function interfaceArg(value: string): string {
  if (!/^[^\s/:]{1,15}$/.test(value)) throw new InvalidArgumentError(`--interface must be an interface name of 1..15 characters, got ${JSON.stringify(value)}`);
  return value;
}

function macArg(name: string): (value: string) => string {
  return (value) => {
    const parsed = parseMacLayer2Id(value);
    if (!parsed.ok) throw new InvalidArgumentError(`${name}: ${parsed.error}`);
    if (!isUnicastMac(parsed.value)) throw new InvalidArgumentError(`${name} must be a unicast MAC address, got ${value}`);
    return parsed.value;
  };
}

function etherTypeArg(value: string): number {
  const n = /^0x[0-9a-fA-F]{4}$/.test(value) ? parseInt(value.slice(2), 16) : NaN;
  if (!isUsableEtherType(n)) throw new InvalidArgumentError(`--ethertype must be 0x0600..0xffff written 0xNNNN (not a VLAN TPID), got ${JSON.stringify(value)}`);
  return n;
}

function serialPathArg(value: string): string {
  if (value.length === 0 || /[\s,]/.test(value)) throw new InvalidArgumentError(`--serial-path must be a port path such as /dev/ttyUSB0, got ${JSON.stringify(value)}`);
  return value;
}

function ipArg(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError(`--local-host must be an IP address, got ${JSON.stringify(value)}`);
  return value;
}
