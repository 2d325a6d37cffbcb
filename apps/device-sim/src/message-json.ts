/**
 * The JSON line the `device` CLI prints for a message from the gateway. Other tools (e2e tests,
 * the demo, scripts) parse it, so the member names and their order are a contract:
 *
 * `{"type":"REGISTRATION_RESPONSE","result":"SUCCESS","applicationId":42,"registrationId":"0011223344556677","layer2Id":"127.0.0.1:5691","hex":"1100a0…"}`
 * `{"type":"DEREGISTRATION_RESPONSE","result":"FAILURE","applicationId":42,"failureReason":"SERVER_UNREACHABLE","layer2Id":…,"hex":…}`
 * `{"type":"STATUS","failureReason":"MESSAGE_TYPE_NOT_SUPPORTED","offendingMessageType":126,"layer2Id":…,"hex":"1f097e"}`
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
    default:
      return assertNever(message, 'M5 message kind');
  }
}

/** Lower-case hex without separators. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
