/**
 * The `device` CLI (`pnpm --silent device …`): a constrained device registering and de-registering with a
 * Gateway UE over the UDP link. Command and option names are a contract other tools drive.
 *
 * Output: exactly one JSON line on stdout per run (see `message-json.ts`); diagnostics on stderr.
 * Exit codes: 0 SUCCESS, 1 FAILURE or STATUS, 2 no answer (`{"error":"TIMEOUT",…}`), a local
 * socket problem (`{"error":"BIND",…}`) or bad arguments (message on stderr only).
 *
 * Rejected alternative: commander's default `process.exit` on a usage error (exit code 1, which
 * would read as a FAILURE response): `exitOverride` maps usage errors to 2 and keeps `run`
 * testable without a child process.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isIP } from 'node:net';
import { parseApplicationId, parseRegistrationId, type ApplicationId, type DeviceRequest, type RegistrationId } from '@msgin5g/core';
import { formatGatewayAddress, parseGatewayAddress, type GatewayAddress } from './gateway-address';
import { messageJson } from './message-json';
import { UdpDevice, UdpDeviceError } from './udp-device';

/** Exit codes of the CLI. */
export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_NO_ANSWER = 2;

/** Default local UDP port: a device is known by its source address, so it must be stable. */
export const DEFAULT_LOCAL_PORT = 5691;

/** Where the CLI writes; `process.stdout`/`stderr` in production, buffers in tests. */
export interface CliIo {
  out(line: string): void;
  err(text: string): void;
}

interface CommonOptions {
  gateway: GatewayAddress;
  localPort: number;
  localHost?: string;
  timeoutMs: number;
  retries: number;
}

const LOCAL_PORT_HELP = 'local UDP port (a device is known by its source address; use the same --local-port for register and deregister)';

/**
 * Runs the CLI on `argv` (the arguments after the script name) and resolves with the exit code.
 * Never throws for user errors; bugs propagate.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = EXIT_NO_ANSWER;
  const program = new Command('device')
    .description('MSGin5G constrained-device simulator: M5 binary over UDP to a Gateway UE (wire-formats §3.2)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nEach command prints one JSON line: the decoded response.\nExit codes: 0 SUCCESS, 1 FAILURE or STATUS, 2 no answer (timeout), local socket error or bad arguments.',
    );

  const withCommon = (cmd: Command): Command =>
    cmd
      .addOption(new Option('--gateway <host:port>', "the gateway's UDP device port: 127.0.0.1:5690, [::1]:5690, localhost:5690").argParser(gatewayArg).makeOptionMandatory())
      .addOption(new Option('--local-port <port>', LOCAL_PORT_HELP).argParser(intArg('--local-port', 0, 65535)).default(DEFAULT_LOCAL_PORT))
      .addOption(new Option('--local-host <ip>', 'local IP address to bind (default: any address of the gateway IP version)').argParser(ipArg))
      .addOption(new Option('--timeout-ms <ms>', 'wait per attempt before resending the same bytes').argParser(intArg('--timeout-ms', 1, 600_000)).default(4000))
      .addOption(new Option('--retries <n>', 'resends after the first attempt, as a real device would (4 s × 9 attempts outlasts the gateway default 30 s deadline, so its SERVER_UNREACHABLE answer arrives)').argParser(intArg('--retries', 0, 100)).default(8));

  withCommon(program.command('register').description('send a REGISTRATION REQUEST and print the REGISTRATION RESPONSE'))
    .addOption(new Option('--app-id <n>', 'Application ID, 0..65535').argParser(appIdArg).makeOptionMandatory())
    .action(async (opts: CommonOptions & { appId: ApplicationId }) => {
      exitCode = await exchange(opts, { kind: 'REGISTRATION_REQUEST', applicationId: opts.appId }, io);
    });

  withCommon(program.command('deregister').description('send a DE-REGISTRATION REQUEST and print the DE-REGISTRATION RESPONSE'))
    .addOption(new Option('--registration-id <hex>', 'Registration ID from the registration response (2..32 hex characters)').argParser(registrationIdArg).makeOptionMandatory())
    .action(async (opts: CommonOptions & { registrationId: RegistrationId }) => {
      exitCode = await exchange(opts, { kind: 'DEREGISTRATION_REQUEST', registrationId: opts.registrationId }, io);
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

async function exchange(opts: CommonOptions, request: DeviceRequest, io: CliIo): Promise<number> {
  let device: UdpDevice;
  try {
    device = await UdpDevice.open({ gateway: opts.gateway, localPort: opts.localPort, ...(opts.localHost === undefined ? {} : { localHost: opts.localHost }) });
  } catch (err) {
    if (!(err instanceof UdpDeviceError)) throw err;
    io.err(`device: ${err.message}\n`);
    io.out(JSON.stringify({ error: err.reason, message: err.message, gateway: formatGatewayAddress(opts.gateway) }));
    return EXIT_NO_ANSWER;
  }
  try {
    const answer = await device.exchange(request, { timeoutMs: opts.timeoutMs, retries: opts.retries });
    io.out(JSON.stringify(messageJson(answer.message, answer.bytes, device.layer2Id)));
    return answer.message.kind !== 'STATUS' && answer.message.result === 'SUCCESS' ? EXIT_SUCCESS : EXIT_FAILURE;
  } catch (err) {
    if (!(err instanceof UdpDeviceError)) throw err;
    io.err(`device: ${err.message}${err.details.lastSocketError === 'ECONNREFUSED' ? ' (ECONNREFUSED: nothing listens on the gateway port?)' : ''}\n`);
    io.out(
      JSON.stringify({
        error: err.reason,
        gateway: formatGatewayAddress(device.gateway),
        layer2Id: device.layer2Id,
        attempts: err.details.attempts,
        timeoutMs: opts.timeoutMs,
        ...(err.details.lastSocketError === undefined ? {} : { lastSocketError: err.details.lastSocketError }),
      }),
    );
    return EXIT_NO_ANSWER;
  } finally {
    await device.close();
  }
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

function ipArg(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError(`--local-host must be an IP address, got ${JSON.stringify(value)}`);
  return value;
}
