/**
 * The `send` and `messages` subcommands of `msgin5g-server`: a person talks to a running reference
 * server as the pretend Application Server (docs/wire-formats.md §5.4).
 *
 * ```
 * msgin5g-server send --to <UE Service ID> --payload TEXT|hex:HEX [--report] [--from as-demo]
 *                     [--target-type UE|AS] [--app-id N] [--msg-id HEX32] [--server coap://127.0.0.1:5683] [--timeout-s 90]
 * msgin5g-server messages [--server coap://127.0.0.1:5683] [--since SEQ] [--follow] [--interval-ms 1000]
 * ```
 * `send` POSTs a `MSG` (from `--from`, no `gatewayUeServiceId`) to `/msgin5g` and prints the
 * server's `MSGRESP` as one JSON line; with `--report` (and an answer that is not DELY_FAILED) it
 * then polls `GET /messages` for IMDNs about that message to `--from` and prints each as one JSON
 * line, until a final one (REPT_DELY_SUCCESS or REPT_DELY_FAILED) or `--timeout-s`. Exit 0: taken
 * (and, with `--report`, delivered); 1: DELY_FAILED, a failure report, no report in time, no
 * answer from the server; 2: bad usage.
 * `messages` prints every inbox entry held (or those after `--since`) as JSON lines, oldest first;
 * with `--follow` it keeps polling every `--interval-ms` until SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { decodeMsgin5g1MessageRequest, DEFAULT_COAP_PORT, encodeMsgin5g1MessageRequest, type Msgin5g1Msg } from '@msgin5g/protocol';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import type { InboxEntry } from './as-inbox';
import { DEFAULT_AS_SERVICE_ID } from './message-router';
import { fetchMessages, parseServerUri, postToServer, type ServerAddress } from './server-client';

const DEFAULT_SERVER = `coap://127.0.0.1:${DEFAULT_COAP_PORT}`;
/** Each request to the server may take this long, ms (CoAP retransmission inside). */
const REQUEST_TIMEOUT_MS = 10_000;
const POLL_MS = 200;

/** Help lines for the root command's `--help`. */
export const MESSAGE_COMMANDS_HELP = `Commands (talk to a running server as the pretend Application Server):
  send --to UE_SERVICE_ID --payload TEXT|hex:HEX [--report] [--from AS_ID] [--server coap://127.0.0.1:5683] [--timeout-s 90]
                send a MSG to a device (through its gateway's notifyUri); prints the MSGRESP, and with
                --report waits for the delivery report (IMDN) and prints it
  messages [--server coap://127.0.0.1:5683] [--since SEQ] [--follow]
                print what reached the pretend AS (messages and reports, GET /messages), one JSON line each
  (msgin5g-server send --help, msgin5g-server messages --help for every option)`;

interface Io {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function command(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .showHelpAfterError(`(msgin5g-server ${name.split(' ')[1] ?? ''} --help lists the options)`)
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
}

/** Runs `send` with its own arguments (after the word `send`); resolves with the exit code. */
export async function runSend(args: readonly string[], io: Io = stdio): Promise<number> {
  const program = command('msgin5g-server send', 'Send a MSG to a UE Service ID through the running server, as an Application Server.')
    .requiredOption('--to <ueServiceId>', 'the recipient: a UE Service ID (a device behind a gateway) or an AS Service ID')
    .requiredOption('--payload <text>', 'the payload: UTF-8 text, or hex:HEX for octets')
    .option('--report', 'ask for a delivery status report and wait for it')
    .option('--from <asServiceId>', 'the sender (AS Service ID)', DEFAULT_AS_SERVICE_ID)
    .addOption(new Option('--target-type <type>', 'what --to names').choices(['UE', 'AS']).default('UE'))
    .option('--app-id <n>', 'the receiving Application ID (0..65535)', parseAppId)
    .option('--msg-id <hex>', 'Message ID, 32 hex characters (default: random)')
    .option('--server <uri>', 'the server', DEFAULT_SERVER)
    // A gateway reports NOT_DELIVERED about 62 s after its first send (docs/wire-formats.md §5.3): wait past that.
    .option('--timeout-s <s>', 'how long to wait for the report, s (default 90: a gateway reports NOT_DELIVERED about 62 s after its first try)', parsePositive, 90);
  program.parse([...args], { from: 'user' });
  const o = program.opts<{ to: string; payload: string; report?: boolean; from: string; targetType: 'UE' | 'AS'; appId?: number; msgId?: string; server: string; timeoutS: number }>();

  let server: ServerAddress;
  let payload: Uint8Array;
  try {
    server = parseServerUri(o.server);
    payload = parsePayload(o.payload);
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  const msg: Msgin5g1Msg = {
    messageType: 'MSG',
    originatorAddress: o.from,
    targetAddress: o.to,
    targetType: o.targetType,
    messageId: (o.msgId ?? randomBytes(16).toString('hex')) as MessageId,
    deliveryStatusRequired: o.report === true,
    payload,
    ...(o.appId === undefined ? {} : { applicationId: o.appId as ApplicationId }),
  };
  const body = encodeMsgin5g1MessageRequest(msg);
  // The server reads the body strictly; say what is wrong here rather than print its 4.00.
  const check = decodeMsgin5g1MessageRequest(body);
  if (!check.ok) return usage(io, check.error.replace(/^MSGin5G-1 message request: /, ''));
  const messageId = check.value.messageId;

  try {
    // Where the inbox stands now, so only reports that arrive after the send are read.
    const since = o.report === true ? (await fetchMessages(server, undefined, REQUEST_TIMEOUT_MS)).lastSeq : 0;
    const answer = await postToServer(server, body, REQUEST_TIMEOUT_MS);
    let resp: Record<string, unknown>;
    try {
      resp = JSON.parse(answer.text) as Record<string, unknown>;
    } catch {
      resp = { code: answer.code, body: answer.text };
    }
    if (answer.code !== '2.04') {
      io.out(JSON.stringify({ code: answer.code, ...resp }));
      return 1;
    }
    io.out(JSON.stringify(resp));
    if (resp['status'] === 'DELY_FAILED') return 1;
    if (o.report !== true) return 0;
    return await waitForReport(server, since, o.from, messageId, o.timeoutS * 1000, io);
  } catch (err) {
    io.err(`msgin5g-server send: ${(err as Error).message}`);
    return 1;
  }
}

async function waitForReport(server: ServerAddress, since: number, to: string, messageId: string, timeoutMs: number, io: Io): Promise<number> {
  const until = Date.now() + timeoutMs;
  let cursor = since;
  while (Date.now() < until) {
    const page = await fetchMessages(server, cursor, REQUEST_TIMEOUT_MS);
    const before = cursor;
    for (const e of page.messages) {
      cursor = Math.max(cursor, e.seq);
      if (e.messageType !== 'IMDN' || e.msgId !== messageId || e.destAddr !== to) continue;
      io.out(JSON.stringify(e));
      if (e.delivSt === 'REPT_DELY_SUCCESS') return 0;
      if (e.delivSt === 'REPT_DELY_FAILED') return 1;
    }
    // Page on at once only while pages move forward (a server that ignored since= would otherwise spin).
    if (!page.more || cursor === before) await sleep(Math.min(POLL_MS, Math.max(0, until - Date.now())));
  }
  io.err(`msgin5g-server send: no delivery report for ${messageId} within ${timeoutMs / 1000} s`);
  return 1;
}

/** Runs `messages`; resolves with the exit code (with `--follow`, once stopped by a signal). */
export async function runMessages(args: readonly string[], io: Io = stdio, stopSignal?: AbortSignal): Promise<number> {
  const program = command('msgin5g-server messages', 'Print what reached the pretend Application Server (GET /messages), one JSON line each, oldest first.')
    .option('--server <uri>', 'the server', DEFAULT_SERVER)
    .option('--since <seq>', 'only entries numbered above SEQ', parseWhole, 0)
    .option('--follow', 'keep polling for new entries until interrupted')
    .option('--interval-ms <ms>', 'polling interval with --follow, ms', parsePositive, 1000);
  program.parse([...args], { from: 'user' });
  const o = program.opts<{ server: string; since: number; follow?: boolean; intervalMs: number }>();
  let server: ServerAddress;
  try {
    server = parseServerUri(o.server);
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  stopSignal?.addEventListener('abort', stop);
  if (o.follow === true) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  let cursor = o.since;
  try {
    for (;;) {
      const page = await fetchMessages(server, cursor, REQUEST_TIMEOUT_MS);
      const before = cursor;
      for (const e of page.messages as InboxEntry[]) {
        if (e.seq <= cursor) continue; // never print an entry twice
        io.out(JSON.stringify(e));
        cursor = e.seq;
      }
      if (page.more && cursor > before) continue;
      if (o.follow !== true || controller.signal.aborted) return 0;
      await sleep(o.intervalMs, controller.signal);
      if (controller.signal.aborted) return 0;
    }
  } catch (err) {
    io.err(`msgin5g-server messages: ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function usage(io: Io, message: string): number {
  io.err(`error: ${message}`);
  io.err('(msgin5g-server --help lists the commands)');
  return 2;
}

/** `hex:0102ff` → octets; anything else → its UTF-8. @throws Error for bad hex. */
export function parsePayload(text: string): Uint8Array {
  if (!text.startsWith('hex:')) return new TextEncoder().encode(text);
  const hex = text.slice(4);
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) throw new Error('--payload hex:HEX needs an even number of hex digits');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function parseAppId(value: string): number {
  const n = /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new InvalidArgumentError('an Application ID is 0..65535');
  return n;
}

function parsePositive(value: string): number {
  const n = /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1)) throw new InvalidArgumentError('a whole number ≥ 1');
  return n;
}

function parseWhole(value: string): number {
  const n = /^[0-9]{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0)) throw new InvalidArgumentError('a whole number ≥ 0');
  return n;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}
