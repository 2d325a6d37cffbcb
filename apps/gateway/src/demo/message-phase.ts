/**
 * The demo's message phase (docs/wire-formats.md §5), run between registration and de-registration
 * with the device simulator's `send` / `listen` and the reference server's `send` / `messages`:
 *
 * a) device B → device A, report wanted: B's MESSAGE SENDING RESPONSE (0x03), A's MESSAGE
 *    RECEIVING (0x04) and the MESSAGE RECEIVING ACK (0x05) it sent, B's DELIVERY REPORT RECEIVING
 *    (0x06). The message goes gateway → server (`MSG`) → gateway's MSGin5G-1 inbox (notifyUri) → A.
 * b) the pretend Application Server → device A (`msgin5g-server send --report`): the server's
 *    `MSGRESP`, A's 0x04 and 0x05, then the `IMDN` the gateway sent upstream, read from the AS inbox
 *    (`msgin5g-server messages`).
 *
 * Every child is a {@link JsonLineProcess} handed to `track`, so the demo's clean-up kills whatever
 * is still running when a step fails. Each wait is bounded; a step that fails throws an Error that
 * says which and shows what arrived. A listener is started a little before the message is sent;
 * should it not be listening yet, the gateway's resend (2 s later, §5.3) reaches it, so the wait only
 * costs time, never the result.
 */
import { ENTRY, runServerCli, startNode, type JsonLineProcess, type Placement } from './processes';

/** A registered demo device as the message phase needs it. */
export interface MessagingDevice {
  /** How the transcript names it (`127.0.0.1:5801`, `02:00:00:00:d0:01`). */
  readonly label: string;
  readonly appId: number;
  /** Simulator arguments that make this device (link, gateway address, local port or MAC). */
  readonly args: readonly string[];
  /** Its UE Service ID at the server, as the gateway's store holds it. */
  readonly ueServiceId: string;
}

export interface MessagePhaseContext {
  /** Receives (device A) and sends (device B). */
  readonly a: MessagingDevice;
  readonly b: MessagingDevice;
  readonly serverPort: number;
  /** Where the devices run, and where the server's loopback is (the L2 demo's two namespaces). */
  readonly deviceSide: Placement;
  readonly serverSide: Placement;
  /** Every child process started here is passed to this, for the demo's clean-up. */
  track(p: JsonLineProcess): void;
  out(line?: string): void;
}

/** How long a listener gets to open its socket before the message is sent, ms. */
const LISTEN_SETTLE_MS = 500;
/** Bound of each wait for a line or an exit, ms (a lost first copy is resent after 2 s). */
const STEP_TIMEOUT_MS = 20_000;

const B_PAYLOAD = 'hello A, from B';
const AS_PAYLOAD = 'hello A, from the AS';

/**
 * Runs both exchanges and prints them.
 * @throws Error naming the step that went wrong (a refusal, a wrong member, a timeout, an exit code other than 0).
 */
export async function runMessagePhase(ctx: MessagePhaseContext): Promise<void> {
  const { a, b, out } = ctx;
  const row = (who: string, what: string, detail: string, hex?: unknown) => out(`   ${who.padEnd(9)} ${what.padEnd(34)} ${detail}${hex === undefined ? '' : `   [${String(hex)}]`}`);

  out(`   device A ${a.label} (app ${a.appId}) is ${a.ueServiceId} at the server; device B ${b.label} (app ${b.appId}) is ${b.ueServiceId}`);
  out(`   a) device → device, report wanted: B sends "${B_PAYLOAD}" to A (device send --report; A runs device listen)`);
  out("      B → gateway (0x01) → server (MSG) → the gateway's MSGin5G-1 inbox (its notifyUri) → A (0x04); A's ack (0x05) → report to B (IMDN, 0x06)");
  const listen1 = listen(ctx, 'device A listen (a)');
  await sleep(LISTEN_SETTLE_MS);
  const send = device(ctx, 'device B send', ['send', ...b.args, '--app-id', String(b.appId), '--to', a.ueServiceId, '--payload', B_PAYLOAD, '--report', '--report-timeout-s', String(STEP_TIMEOUT_MS / 1000)]);
  const response = await send.waitFor((l) => l.type === 'MESSAGE_SENDING_RESPONSE' || l.error !== undefined, "B's MESSAGE SENDING RESPONSE", STEP_TIMEOUT_MS);
  const outcome = response.result === 'ACCEPTED' ? `ACCEPTED, delivery status ${String(response.deliveryStatus)}` : `${String(response.result ?? response.error)} (${String(response.failureReason ?? response.message ?? '-')})`;
  row('B got', 'MESSAGE SENDING RESPONSE (0x03)', `${outcome}, Message ID ${String(response.messageId ?? '-')}`, response.hex);
  if (response.result !== 'ACCEPTED') throw new Error(`device B's message was not accepted: ${JSON.stringify(response)}`);
  const messageId = String(response.messageId);
  const got = await received(ctx, listen1, messageId, b.ueServiceId, B_PAYLOAD, 'UE');
  row('A got', 'MESSAGE RECEIVING (0x04)', `"${String(got.payloadText)}" from ${String(got.originatorAddress)} (UE), report wanted`, got.hex);
  row('A sent', 'MESSAGE RECEIVING ACK (0x05)', `Message ID ${messageId}, Application ID ${a.appId}`, got.ackHex);
  const report = await send.waitFor((l) => l.type === 'DELIVERY_REPORT_RECEIVING' || l.error !== undefined, "B's DELIVERY REPORT RECEIVING", STEP_TIMEOUT_MS);
  row('B got', 'DELIVERY REPORT RECEIVING (0x06)', `${String(report.deliveryStatus ?? report.error)}, reported by ${String(report.originatorAddress ?? '-')}`, report.hex);
  if (report.deliveryStatus !== 'DELIVERED' || report.messageId !== messageId || report.originatorAddress !== a.ueServiceId) {
    throw new Error(`device B did not get a DELIVERED report from A about ${messageId}: ${JSON.stringify(report)}`);
  }
  await exitedZero(send);
  await exitedZero(listen1);

  out('');
  out(`   b) server → device, report wanted: the pretend Application Server as-demo sends "${AS_PAYLOAD}" to A (msgin5g-server send --report)`);
  out("      server → the gateway's notifyUri (MSG; the gateway stores it and answers 2.04 MSGRESP) → A (0x04); A's ack (0x05) → IMDN to the AS");
  const listen2 = listen(ctx, 'device A listen (b)');
  await sleep(LISTEN_SETTLE_MS);
  const server = `coap://127.0.0.1:${ctx.serverPort}`;
  const asSend = startNode('msgin5g-server send', ENTRY.server, ['send', '--server', server, '--to', a.ueServiceId, '--payload', AS_PAYLOAD, '--report', '--timeout-s', String(STEP_TIMEOUT_MS / 1000)], {}, ctx.serverSide);
  ctx.track(asSend);
  const msgResp = await asSend.waitFor(() => true, 'the MSGRESP line of msgin5g-server send', STEP_TIMEOUT_MS);
  row('AS got', 'MSGRESP (the gateway stored it)', JSON.stringify(msgResp));
  if (msgResp.messageType !== 'MSGRESP' || msgResp.status !== 'DELY_STORED') throw new Error(`the gateway did not store the AS's message for A: ${JSON.stringify(msgResp)} ${asSend.stderr.join(' ')}`);
  const asMessageId = String(msgResp.msgId);
  const gotAs = await received(ctx, listen2, asMessageId, 'as-demo', AS_PAYLOAD, 'AS');
  row('A got', 'MESSAGE RECEIVING (0x04)', `"${String(gotAs.payloadText)}" from ${String(gotAs.originatorAddress)} (AS), report wanted`, gotAs.hex);
  row('A sent', 'MESSAGE RECEIVING ACK (0x05)', `Message ID ${asMessageId}, Application ID ${a.appId}`, gotAs.ackHex);
  await exitedZero(listen2);
  const reported = await asSend.waitFor((l) => l.messageType === 'IMDN' && l.msgId === asMessageId, 'the report msgin5g-server send waits for', STEP_TIMEOUT_MS);
  if (reported.delivSt !== 'REPT_DELY_SUCCESS') throw new Error(`msgin5g-server send got a report other than REPT_DELY_SUCCESS: ${JSON.stringify(reported)}`);
  await exitedZero(asSend);
  const inbox = await runServerCli(['messages', '--server', server], STEP_TIMEOUT_MS, ctx.serverSide);
  const entry = jsonLines(inbox.stdout).find((l) => l.messageType === 'IMDN' && l.msgId === asMessageId);
  row('AS inbox', 'IMDN (msgin5g-server messages)', JSON.stringify(entry ?? {}));
  if (inbox.code !== 0 || entry === undefined || entry.delivSt !== 'REPT_DELY_SUCCESS' || entry.oriAddr !== a.ueServiceId || entry.destAddr !== 'as-demo') {
    throw new Error(`the AS inbox holds no REPT_DELY_SUCCESS report from ${a.ueServiceId} about ${asMessageId} (exit ${inbox.code}): ${inbox.stdout}${inbox.stderr}`);
  }
}

/** `device listen` for A: one message, acknowledged; exits 0 once it is printed. */
function listen(ctx: MessagePhaseContext, name: string): JsonLineProcess {
  return device(ctx, name, ['listen', ...ctx.a.args, '--app-id', String(ctx.a.appId), '--count', '1', '--timeout-s', String(STEP_TIMEOUT_MS / 1000)]);
}

function device(ctx: MessagePhaseContext, name: string, args: string[]): JsonLineProcess {
  const p = startNode(name, ENTRY.device, args, {}, ctx.deviceSide);
  ctx.track(p);
  return p;
}

/** Waits for A's MESSAGE RECEIVING line about `messageId` and checks it against what was sent. */
async function received(ctx: MessagePhaseContext, p: JsonLineProcess, messageId: string, from: string, payload: string, originatorType: string): Promise<Record<string, unknown>> {
  const line = await p.waitFor((l) => l.type === 'MESSAGE_RECEIVING', "A's MESSAGE RECEIVING", STEP_TIMEOUT_MS);
  const expected = { messageId, originatorAddress: from, payloadText: payload, applicationId: ctx.a.appId, deliveryStatusRequired: true, originatorType };
  const wrong = Object.entries(expected).filter(([k, v]) => line[k] !== v);
  if (wrong.length > 0 || typeof line.ackHex !== 'string' || !line.ackHex.startsWith(`05${messageId}`)) {
    throw new Error(`device A got another MESSAGE RECEIVING than was sent (${wrong.map(([k]) => k).join(', ') || 'ackHex'}): ${JSON.stringify(line)}`);
  }
  return line;
}

/** Resolves once `p` exited with 0. @throws Error on another code, or when it runs longer than a step. */
async function exitedZero(p: JsonLineProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([p.exited, new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), STEP_TIMEOUT_MS)))]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${p.name} ${code === 'timeout' ? 'did not exit' : `exited with code ${code}`}: ${JSON.stringify(p.lines)} ${p.stderr.join(' ')}`);
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const l of text.split('\n')) {
    if (l.trim() === '') continue;
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      lines.push({ raw: l });
    }
  }
  return lines;
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));
