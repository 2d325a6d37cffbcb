// fast-check arbitraries for valid domain values and for hostile inputs.
import { FAILURE_REASONS, type ApplicationId, type DeviceRequest, type DeviceResponse, type RegistrationId, type UeServiceId } from '@msgin5g/core';
import { encodeM5, type M5Message, type Msgin5g1Answer, type Msgin5g1Request, type StatusMessage } from '@msgin5g/protocol';
import fc from 'fast-check';

export const NUM_RUNS = 2000;

export const applicationId = fc.integer({ min: 0, max: 0xffff }).map((n) => n as ApplicationId);
export const registrationId = fc.uint8Array({ minLength: 1, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex') as RegistrationId);
export const failureReason = fc.constantFrom(...FAILURE_REASONS);
const optionalApp = fc.option(applicationId, { nil: undefined });
/** A registration lifetime, s (docs/wire-formats.md §2), or none. */
const optionalLifetime = fc.option(fc.integer({ min: 1, max: 0xffff_ffff }), { nil: undefined });
const responseKind = fc.constantFrom<DeviceResponse['kind']>('REGISTRATION_RESPONSE', 'DEREGISTRATION_RESPONSE');

export const deviceRequest: fc.Arbitrary<DeviceRequest> = fc.oneof(
  fc.tuple(applicationId, optionalLifetime).map(([a, lifetimeS]): DeviceRequest => (lifetimeS === undefined ? { kind: 'REGISTRATION_REQUEST', applicationId: a } : { kind: 'REGISTRATION_REQUEST', applicationId: a, lifetimeS })),
  registrationId.map((r): DeviceRequest => ({ kind: 'DEREGISTRATION_REQUEST', registrationId: r })),
);

export const deviceResponse: fc.Arbitrary<DeviceResponse> = fc.oneof(
  fc.tuple(responseKind, registrationId, optionalApp).map(([kind, registrationId, applicationId]): DeviceResponse =>
    applicationId === undefined ? { kind, result: 'SUCCESS', registrationId } : { kind, result: 'SUCCESS', registrationId, applicationId },
  ),
  fc.tuple(registrationId, applicationId, fc.integer({ min: 1, max: 0xffff_ffff })).map(
    ([registrationId, applicationId, lifetimeS]): DeviceResponse => ({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId, applicationId, lifetimeS }),
  ),
  fc.tuple(responseKind, failureReason, optionalApp).map(([kind, failureReason, applicationId]): DeviceResponse =>
    applicationId === undefined ? { kind, result: 'FAILURE', failureReason } : { kind, result: 'FAILURE', failureReason, applicationId },
  ),
);

export const statusMessage: fc.Arbitrary<StatusMessage> = fc
  .tuple(failureReason, fc.integer({ min: 0, max: 0xff }))
  .map(([failureReason, offendingMessageType]) => ({ kind: 'STATUS', failureReason, offendingMessageType }));

export const m5Message: fc.Arbitrary<M5Message> = fc.oneof(deviceRequest, deviceResponse, statusMessage);

/** Valid encodings with random damage: octets overwritten, truncated, or extended. */
export const mutatedM5 = fc
  .tuple(
    m5Message,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xff })), { maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.uint8Array({ maxLength: 12 }),
  )
  .map(([message, writes, cut, tail]) => {
    const encoded = encodeM5(message);
    for (const [at, value] of writes) encoded[at % encoded.length] = value;
    const kept = cut === undefined ? encoded : encoded.subarray(0, cut % (encoded.length + 1));
    const out = new Uint8Array(kept.length + tail.length);
    out.set(kept, 0);
    out.set(tail, kept.length);
    return out;
  });

/** Random octets (0..300), a third of them short, a third led by a known M5 message type so the body decoders are reached. */
export const randomM5 = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 8 }),
  fc
    .tuple(fc.constantFrom(0x10, 0x11, 0x12, 0x13, 0x1f), fc.uint8Array({ maxLength: 300 }))
    .map(([type, rest]) => Uint8Array.of(type, ...rest)),
);

/** UE Service IDs: 1..256 UTF-16 units, no control characters (TS 23.554 §8.2.1; core's parseUeServiceId). */
export const ueServiceId = fc
  .string({ minLength: 1, maxLength: 256, unit: fc.oneof(fc.constantFrom('gw-', '/', '"', '\\', 'é', '😀'), fc.string({ unit: 'binary', maxLength: 1 })) })
  .map((s) => Array.from(s, (ch) => (ch.charCodeAt(0) < 0x20 || ch === '\u007f' ? 'x' : ch)).join(''))
  .filter((s) => s.length >= 1 && s.length <= 256)
  .map((s) => s as UeServiceId);

export const serverOperation = fc.constantFrom<'REG' | 'DEREG'>('REG', 'DEREG');

export const msgin5g1Request: fc.Arbitrary<Msgin5g1Request> = fc
  .tuple(serverOperation, ueServiceId, fc.option(ueServiceId, { nil: undefined }), optionalApp)
  .map(([messageType, ueServiceId, gatewayUeServiceId, applicationId]) => ({
    messageType,
    ueServiceId,
    ...(gatewayUeServiceId === undefined ? {} : { gatewayUeServiceId }),
    ...(applicationId === undefined ? {} : { applicationId }),
  }));

export const msgin5g1Answer: fc.Arbitrary<Msgin5g1Answer> = fc
  .tuple(serverOperation, fc.constantFrom<'SUCCESS' | 'FAILURE'>('SUCCESS', 'FAILURE'), fc.option(fc.string({ maxLength: 80 }), { nil: undefined }))
  .map(([messageType, result, failureCause]) => (failureCause === undefined ? { messageType, result } : { messageType, result, failureCause }));

/** JSON objects built from the members the bodies use (and a few traps) with arbitrary values. */
export const jsonishBody = fc
  .dictionary(
    fc.constantFrom('messageType', 'appId', 'registrationId', 'ueServiceId', 'gatewayUeServiceId', 'result', 'failureCause', 'failureReason', '__proto__', 'toString', 'x'),
    fc.oneof(fc.constantFrom('REG', 'DEREG', 'SUCCESS', 'FAILURE', '42', '0011', 'NOT_REGISTERED', 'gw-1'), fc.jsonValue({ maxDepth: 2 })),
    { maxKeys: 6 },
  )
  .map((o) => new TextEncoder().encode(JSON.stringify(o)));

/** Anything a peer could send as a JSON body. */
export const hostileBody = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  jsonishBody,
  fc.json({ maxDepth: 3 }).map((s) => new TextEncoder().encode(s)),
  fc.string({ unit: 'binary', maxLength: 100 }).map((s) => new TextEncoder().encode(s)),
);
