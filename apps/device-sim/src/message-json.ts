/**
 * The JSON line the `device` CLI prints for a message from the gateway. Other tools (e2e tests,
 * the demo, scripts) parse it, so the member names and their order are a contract:
 *
 * `{"type":"REGISTRATION_RESPONSE","result":"SUCCESS","applicationId":42,"registrationId":"0011223344556677","layer2Id":"127.0.0.1:5691","hex":"1100a0…"}`
 * `{"type":"DEREGISTRATION_RESPONSE","result":"FAILURE","applicationId":42,"failureReason":"SERVER_UNREACHABLE","layer2Id":…,"hex":…}`
 * `{"type":"STATUS","failureReason":"MESSAGE_TYPE_NOT_SUPPORTED","offendingMessageType":126,"layer2Id":…,"hex":"1f097e"}`
 * `{"type":"MESSAGE_RECEIVING","originatorAddress":"ue-77","messageId":"0001…","payloadText":"hi","payloadHex":"6869","applicationId":42,"deliveryStatusRequired":false,"originatorType":"UE","layer2Id":…,"hex":…}`
 *
 * A payload is printed as `payloadHex`, preceded by `payloadText` when it is printable UTF-8 ({@link printableText}).
 * `listen` on an M5 binary link adds `ackHex` after `hex` to a MESSAGE_RECEIVING line: the octets of
 * the MESSAGE RECEIVING ACK (0x05) the device sent for it (`m5-channel.ts`).
 *
 * `applicationId` is left out when the response carries none; `lifetimeS` (after `registrationId`)
 * is the registration lifetime a REGISTRATION RESPONSE granted, s, when it carries one.
 */
import { assertNever } from '@msgin5g/core';
import type { M5Message } from '@msgin5g/protocol';

/** Builds the JSON object for `message` received as `bytes` by the device at `layer2Id`. */
export function messageJson(message: M5Message, bytes: Uint8Array, layer2Id: string): Record<string, unknown> {
  const hex = toHex(bytes);
  switch (message.kind) {
    case 'REGISTRATION_RESPONSE':
    case 'DEREGISTRATION_RESPONSE': {
      const out: Record<string, unknown> = { type: message.kind, result: message.result };
      if (message.applicationId !== undefined) out['applicationId'] = message.applicationId;
      if (message.result === 'SUCCESS') out['registrationId'] = message.registrationId;
      else out['failureReason'] = message.failureReason;
      if (message.kind === 'REGISTRATION_RESPONSE' && message.result === 'SUCCESS' && message.lifetimeS !== undefined) out['lifetimeS'] = message.lifetimeS;
      out['layer2Id'] = layer2Id;
      out['hex'] = hex;
      return out;
    }
    case 'STATUS':
      return { type: 'STATUS', failureReason: message.failureReason, offendingMessageType: message.offendingMessageType, layer2Id, hex };
    case 'REGISTRATION_REQUEST':
      return message.lifetimeS === undefined
        ? { type: message.kind, applicationId: message.applicationId, layer2Id, hex }
        : { type: message.kind, applicationId: message.applicationId, lifetimeS: message.lifetimeS, layer2Id, hex };
    case 'DEREGISTRATION_REQUEST':
      return { type: message.kind, registrationId: message.registrationId, layer2Id, hex };
    case 'MESSAGE_SENDING_REQUEST':
    case 'DELIVERY_REPORT_SENDING_REQUEST':
    case 'MESSAGE_SENDING_RESPONSE':
    case 'MESSAGE_RECEIVING':
    case 'MESSAGE_RECEIVING_ACK':
    case 'DELIVERY_REPORT_RECEIVING': {
      // docs/wire-formats.md §5.2: the message's own members in its order, the payload as hex.
      const { kind, ...members } = message;
      const out: Record<string, unknown> = { type: kind };
      for (const [name, value] of Object.entries(members)) {
        if (value instanceof Uint8Array) {
          const text = printableText(value);
          if (text !== undefined) out[`${name}Text`] = text;
          out[`${name}Hex`] = toHex(value);
        } else out[name] = value;
      }
      out['layer2Id'] = layer2Id;
      out['hex'] = hex;
      return out;
    }
    default:
      return assertNever(message, 'M5 message kind');
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `bytes` as text when they are UTF-8 without control characters other than tab, LF and CR (so a
 * terminal shows them as they are); otherwise `undefined`.
 */
export function printableText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufeff]/.test(text) ? undefined : text;
}

/** Lower-case hex without separators. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
