/**
 * The registration state machine of docs/architecture.md §3, as a pure function:
 * `transition(state, event, now, policy) → { state, commands, note }`.
 *
 * One machine instance is one registration, keyed by (link, Layer-2 ID, Application ID) for
 * registration requests and by Registration ID for everything else. The procedures service looks the
 * state up, calls `transition`, and carries the commands out in order. Commands are ordered so that a
 * state is persisted before the upstream POST or device response it leads to ("persist, then act"),
 * except the last two of a successful de-registration, which follow seed CR steps c then d: respond
 * to the stored Layer-2 ID, then remove the mapping (and keep a tombstone).
 *
 * Rejected alternative: an event-sourced log of transitions. It would make replay after a crash
 * explicit, but the REG/DEREG operations are idempotent at the server, so re-sending the POST of a
 * REGISTERING/DEREGISTERING record gives the same end state with a far simpler store.
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR), TS 23.554 §8.11.2, RFC 7252 §4.8.2 (EXCHANGE_LIFETIME)
 */
import type { ApplicationId, Layer2Id, LinkId, RegistrationId } from './ids';
import type { DeviceResponse, FailureReason } from './messages';
import { assertNever, failureResponse, successResponse } from './messages';
import type { ServerOutcome } from './ports/server-link';
import type { GatewayDeregistrationCause, Registration, RegistrationState, Tombstone } from './registration';

/**
 * EXCHANGE_LIFETIME of RFC 7252 §4.8.2 with the default transmission parameters, in ms: 247 000
 * (247 s). The one definition in the repository: the links, the reference server and the gateway
 * config import it.
 */
export const EXCHANGE_LIFETIME_MS = 247_000;

/** The state of one registration as the machine sees it. */
export type MachineState =
  | { readonly kind: 'ABSENT'; readonly tombstone?: Tombstone }
  | { readonly kind: 'REGISTERING'; readonly registration: Registration }
  | { readonly kind: 'REGISTERED'; readonly registration: Registration }
  | { readonly kind: 'DEREGISTERING'; readonly registration: Registration };

export type MachineStateKind = MachineState['kind'];
export const MACHINE_STATE_KINDS: readonly MachineStateKind[] = ['ABSENT', 'REGISTERING', 'REGISTERED', 'DEREGISTERING'];

/** Upstream operation of MSGin5G-1 (TS 24.538 §7.1 Message Type values). */
export type UpstreamOperation = 'REG' | 'DEREG';

export type MachineEvent =
  /**
   * REGISTRATION REQUEST from a device that passed authorization; `candidate` is the record to create
   * if absent, its `expiresAt` = now + `lifetimeS` (the lifetime granted, s; docs/adr/0011).
   */
  | { readonly kind: 'REGISTRATION_REQUESTED'; readonly link: LinkId; readonly layer2Id: Layer2Id; readonly applicationId: ApplicationId; readonly candidate: Registration; readonly lifetimeS: number }
  /** DE-REGISTRATION REQUEST carrying `registrationId` from `layer2Id` on `link`. */
  | { readonly kind: 'DEREGISTRATION_REQUESTED'; readonly link: LinkId; readonly layer2Id: Layer2Id; readonly registrationId: RegistrationId }
  /** The MSGin5G Server answered the `operation` POST (or the exchange ended without an answer). */
  | { readonly kind: 'SERVER_ANSWERED'; readonly operation: UpstreamOperation; readonly outcome: ServerOutcome }
  /**
   * The gateway itself de-registers the record, with no request from the device: an operator's kick
   * or the end of its lifetime (docs/architecture.md §3, "Gateway-initiated de-registration").
   */
  | { readonly kind: 'END_REQUESTED'; readonly cause: GatewayDeregistrationCause }
  /** The gateway restarted and found this record in the store. */
  | { readonly kind: 'RECOVERED' };

export type MachineEventKind = MachineEvent['kind'];
export const MACHINE_EVENT_KINDS: readonly MachineEventKind[] = ['REGISTRATION_REQUESTED', 'DEREGISTRATION_REQUESTED', 'SERVER_ANSWERED', 'END_REQUESTED', 'RECOVERED'];

/** Side effects, to be carried out in order. */
export type Command =
  | { readonly kind: 'INSERT'; readonly registration: Registration }
  /** `cause` is given when the gateway starts a de-registration (`to` DEREGISTERING); the store clears it on every other transition. */
  | { readonly kind: 'SET_STATE'; readonly registrationId: RegistrationId; readonly from: RegistrationState; readonly to: RegistrationState; readonly cause?: GatewayDeregistrationCause }
  | { readonly kind: 'REMOVE'; readonly registrationId: RegistrationId; readonly tombstone?: Tombstone }
  /** A repeated REGISTRATION REQUEST refreshes the lifetime of a REGISTERED record: `expiresAt` in ms since the epoch. */
  | { readonly kind: 'SET_EXPIRY'; readonly registrationId: RegistrationId; readonly expiresAt: number }
  | { readonly kind: 'POST'; readonly operation: UpstreamOperation; readonly registration: Registration }
  | { readonly kind: 'RESPOND'; readonly link: LinkId; readonly to: Layer2Id; readonly response: DeviceResponse };

/** Why a transition did nothing or something unusual, for logs and counters. */
export type TransitionNote =
  | 'DUPLICATE_ABSORBED'
  /** A repeated REGISTRATION REQUEST while REGISTERED: same Registration ID, lifetime refreshed. */
  | 'IDEMPOTENT_REPLY'
  | 'TOMBSTONE_REPLAY'
  | 'NOT_OWNER'
  | 'UNKNOWN_ID'
  | 'BUSY_WITH_OTHER_PROCEDURE'
  | 'STALE_ANSWER'
  | 'NOTHING_TO_RECOVER'
  /** An `EXPIRED` end asked for a record whose expiry is still ahead (a refresh came first): nothing done. */
  | 'NOT_DUE';

export interface Transition {
  readonly state: MachineState;
  readonly commands: readonly Command[];
  readonly note?: TransitionNote;
}

/** Project choices the machine needs (docs/architecture.md §2 step 5, §3). */
export interface MachinePolicy {
  /** How long a tombstone replays the de-registration response, ms. Default 247 000 (EXCHANGE_LIFETIME). */
  readonly tombstoneLifetimeMs: number;
  /**
   * Literal reading of seed CR step d: remove the mapping after a failed de-registration too.
   * Default false: the mapping goes back to REGISTERED so the device can retry (docs/adr/0003).
   */
  readonly removeMappingOnFailure: boolean;
}

export const DEFAULT_MACHINE_POLICY: MachinePolicy = { tombstoneLifetimeMs: EXCHANGE_LIFETIME_MS, removeMappingOnFailure: false };

const stay = (state: MachineState, commands: Command[] = [], note?: TransitionNote): Transition =>
  note === undefined ? { state, commands } : { state, commands, note };

const respond = (registration: Pick<Registration, 'link' | 'layer2Id'>, response: DeviceResponse): Command => ({
  kind: 'RESPOND',
  link: registration.link,
  to: registration.layer2Id,
  response,
});

/** The record in `state`; `deregistrationCause` is kept only when given (a gateway-initiated DEREGISTERING). */
const withState = (registration: Registration, state: RegistrationState, now: number, cause?: GatewayDeregistrationCause): Registration => {
  const { deregistrationCause: _previous, ...rest } = registration;
  return cause === undefined ? { ...rest, state, updatedAt: now } : { ...rest, state, updatedAt: now, deregistrationCause: cause };
};

const deregFailure = (reason: FailureReason, applicationId?: ApplicationId) => failureResponse('DEREGISTRATION_REQUEST', reason, applicationId);

/**
 * Computes the next state of one registration and the commands that get there. Pure: no I/O, no
 * clock reads (`now` is ms since the Unix epoch). Never throws for any (state, event) pair.
 */
export function transition(state: MachineState, event: MachineEvent, now: number, policy: MachinePolicy = DEFAULT_MACHINE_POLICY): Transition {
  switch (event.kind) {
    case 'REGISTRATION_REQUESTED':
      return onRegistrationRequested(state, event, now);
    case 'DEREGISTRATION_REQUESTED':
      return onDeregistrationRequested(state, event, now);
    case 'SERVER_ANSWERED':
      return onServerAnswered(state, event, now, policy);
    case 'END_REQUESTED':
      return onEndRequested(state, event, now);
    case 'RECOVERED':
      return onRecovered(state);
    default:
      return assertNever(event, 'machine event');
  }
}

function onRegistrationRequested(
  state: MachineState,
  event: Extract<MachineEvent, { kind: 'REGISTRATION_REQUESTED' }>,
  now: number,
): Transition {
  switch (state.kind) {
    case 'ABSENT': {
      // Architecture §2 registration step 4: persist REGISTERING, then POST REG.
      const registration = withState(event.candidate, 'REGISTERING', now);
      return stay({ kind: 'REGISTERING', registration }, [
        { kind: 'INSERT', registration },
        { kind: 'POST', operation: 'REG', registration },
      ]);
    }
    case 'REGISTERING':
      // One procedure at a time: the pending REG answers this copy when it ends.
      return stay(state, [], 'DUPLICATE_ABSORBED');
    case 'REGISTERED': {
      // Idempotent: the same (link, Layer-2 ID, Application ID) gets its existing Registration ID,
      // and the lifetime granted now starts again (a refresh, docs/adr/0011), persisted first.
      const r = state.registration;
      const registration: Registration = { ...r, expiresAt: now + event.lifetimeS * 1000, updatedAt: now };
      return stay({ kind: 'REGISTERED', registration }, [
        { kind: 'SET_EXPIRY', registrationId: r.registrationId, expiresAt: registration.expiresAt },
        respond(r, successResponse('REGISTRATION_REQUEST', r.registrationId, r.applicationId, event.lifetimeS)),
      ], 'IDEMPOTENT_REPLY');
    }
    case 'DEREGISTERING': {
      // Leaving and joining at once: refuse until the de-registration ends; the device retries.
      const r = state.registration;
      return stay(state, [respond(r, failureResponse('REGISTRATION_REQUEST', 'CONGESTION', r.applicationId))], 'BUSY_WITH_OTHER_PROCEDURE');
    }
    default:
      return assertNever(state, 'machine state');
  }
}

function onDeregistrationRequested(
  state: MachineState,
  event: Extract<MachineEvent, { kind: 'DEREGISTRATION_REQUESTED' }>,
  now: number,
): Transition {
  const requester = { link: event.link, layer2Id: event.layer2Id };
  switch (state.kind) {
    case 'ABSENT': {
      const t = state.tombstone;
      if (t === undefined || t.expiresAt <= now) {
        return stay({ kind: 'ABSENT' }, [respond(requester, deregFailure('UNKNOWN_REGISTRATION_ID'))], 'UNKNOWN_ID');
      }
      if (t.link !== event.link || t.layer2Id !== event.layer2Id) {
        return stay(state, [respond(requester, deregFailure('NOT_AUTHORISED'))], 'NOT_OWNER');
      }
      // A repeated request after the procedure ended gets the identical bytes, nothing upstream.
      return stay(state, [respond(t, t.response)], 'TOMBSTONE_REPLAY');
    }
    case 'REGISTERING': {
      const r = state.registration;
      if (r.link !== event.link || r.layer2Id !== event.layer2Id) {
        return stay(state, [respond(requester, deregFailure('NOT_AUTHORISED'))], 'NOT_OWNER');
      }
      // The Registration ID has not been given to the device yet (case C11): it cannot be known.
      return stay(state, [respond(requester, deregFailure('UNKNOWN_REGISTRATION_ID'))], 'BUSY_WITH_OTHER_PROCEDURE');
    }
    case 'REGISTERED': {
      const r = state.registration;
      if (r.link !== event.link || r.layer2Id !== event.layer2Id) {
        // Another device's Registration ID: refused, nothing upstream, mapping untouched (case C08).
        return stay(state, [respond(requester, deregFailure('NOT_AUTHORISED'))], 'NOT_OWNER');
      }
      const registration = withState(r, 'DEREGISTERING', now);
      return stay({ kind: 'DEREGISTERING', registration }, [
        { kind: 'SET_STATE', registrationId: r.registrationId, from: 'REGISTERED', to: 'DEREGISTERING' },
        { kind: 'POST', operation: 'DEREG', registration },
      ]);
    }
    case 'DEREGISTERING': {
      const r = state.registration;
      if (r.link !== event.link || r.layer2Id !== event.layer2Id) {
        return stay(state, [respond(requester, deregFailure('NOT_AUTHORISED'))], 'NOT_OWNER');
      }
      if (r.deregistrationCause !== undefined) {
        // The gateway is de-registering it (kick, expiry) and will send it nothing: "retry later". The
        // retry meets the tombstone (success, the bytes the device would have got) or, if the gateway's
        // attempt failed, a REGISTERED record and its own procedure.
        return stay(state, [respond(r, deregFailure('CONGESTION', r.applicationId))], 'BUSY_WITH_OTHER_PROCEDURE');
      }
      return stay(state, [], 'DUPLICATE_ABSORBED');
    }
    default:
      return assertNever(state, 'machine state');
  }
}

function onServerAnswered(
  state: MachineState,
  event: Extract<MachineEvent, { kind: 'SERVER_ANSWERED' }>,
  now: number,
  policy: MachinePolicy,
): Transition {
  const { operation, outcome } = event;
  if (state.kind === 'REGISTERING' && operation === 'REG') {
    const r = state.registration;
    if (outcome.kind === 'SUCCESS') {
      const registration = withState(r, 'REGISTERED', now);
      return stay({ kind: 'REGISTERED', registration }, [
        { kind: 'SET_STATE', registrationId: r.registrationId, from: 'REGISTERING', to: 'REGISTERED' },
        respond(r, successResponse('REGISTRATION_REQUEST', r.registrationId, r.applicationId, grantedLifetimeS(r))),
      ]);
    }
    // A failed registration leaves nothing behind (architecture §2 registration step 5).
    return stay({ kind: 'ABSENT' }, [
      { kind: 'REMOVE', registrationId: r.registrationId },
      respond(r, failureResponse('REGISTRATION_REQUEST', outcome.reason, r.applicationId)),
    ]);
  }
  if (state.kind === 'DEREGISTERING' && operation === 'DEREG') {
    const r = state.registration;
    if (r.deregistrationCause !== undefined) return onGatewayDeregistrationAnswered(r, outcome, now, policy);
    if (outcome.kind === 'SUCCESS') {
      // Seed CR b.1: success carries the Registration ID received in the request; c: send it to the
      // stored Layer-2 ID with the stored Application ID; d: then remove the mapping.
      const tombstone = tombstoneOf(r, now, policy);
      return stay({ kind: 'ABSENT', tombstone }, [respond(r, tombstone.response), { kind: 'REMOVE', registrationId: r.registrationId, tombstone }]);
    }
    // Seed CR b.2: failure carries the Failure reason.
    const response = deregFailure(outcome.reason, r.applicationId);
    if (policy.removeMappingOnFailure) {
      return stay({ kind: 'ABSENT' }, [respond(r, response), { kind: 'REMOVE', registrationId: r.registrationId }]);
    }
    const registration = withState(r, 'REGISTERED', now);
    return stay({ kind: 'REGISTERED', registration }, [
      { kind: 'SET_STATE', registrationId: r.registrationId, from: 'DEREGISTERING', to: 'REGISTERED' },
      respond(r, response),
    ]);
  }
  // An answer for a procedure that is no longer pending (late, or after a restart): log and drop.
  return stay(state, [], 'STALE_ANSWER');
}

/**
 * The lifetime granted to a record created by a REGISTRATION REQUEST, s: its `expiresAt` and
 * `createdAt` were both set from the request's time (also true after a restart), so their
 * difference is the grant. At least 1 s (a hand-edited record).
 */
export function grantedLifetimeS(r: Registration): number {
  return Math.max(1, Math.round((r.expiresAt - r.createdAt) / 1000));
}

/** The tombstone of a de-registration that succeeded: the success response, replayed until `now` + lifetime. */
function tombstoneOf(r: Registration, now: number, policy: MachinePolicy): Tombstone {
  return {
    registrationId: r.registrationId,
    applicationId: r.applicationId,
    layer2Id: r.layer2Id,
    link: r.link,
    response: successResponse('DEREGISTRATION_REQUEST', r.registrationId, r.applicationId),
    expiresAt: now + policy.tombstoneLifetimeMs,
  };
}

/**
 * The server answered a de-registration the gateway started. Nothing is sent to the device (it did
 * not ask; docs/architecture.md §3). Success: the mapping is removed and the tombstone kept, so a
 * later DEREG from the device gets the success response it would have got. Failure: back to
 * REGISTERED, the device still registered at the server and able to de-register itself
 * (docs/adr/0003); `removeMappingOnFailure` is a reading of the device's procedure (seed CR step d)
 * and does not apply here.
 */
function onGatewayDeregistrationAnswered(r: Registration, outcome: ServerOutcome, now: number, policy: MachinePolicy): Transition {
  if (outcome.kind === 'SUCCESS') {
    const tombstone = tombstoneOf(r, now, policy);
    return stay({ kind: 'ABSENT', tombstone }, [{ kind: 'REMOVE', registrationId: r.registrationId, tombstone }]);
  }
  const registration = withState(r, 'REGISTERED', now);
  return stay({ kind: 'REGISTERED', registration }, [{ kind: 'SET_STATE', registrationId: r.registrationId, from: 'DEREGISTERING', to: 'REGISTERED' }]);
}

/**
 * The gateway de-registers a record on the device's behalf. Only a REGISTERED record: a pending
 * procedure (REGISTERING, DEREGISTERING) is left to end (BUSY), an absent one is unknown, and an
 * `EXPIRED` end of a record whose `expiresAt` is still ahead (refreshed since it was found due) does
 * nothing (NOT_DUE). Persist DEREGISTERING with the cause, then POST DEREG; nothing to the device.
 */
function onEndRequested(state: MachineState, event: Extract<MachineEvent, { kind: 'END_REQUESTED' }>, now: number): Transition {
  switch (state.kind) {
    case 'ABSENT':
      return stay(state, [], 'UNKNOWN_ID');
    case 'REGISTERING':
    case 'DEREGISTERING':
      return stay(state, [], 'BUSY_WITH_OTHER_PROCEDURE');
    case 'REGISTERED': {
      const r = state.registration;
      if (event.cause === 'EXPIRED' && r.expiresAt > now) return stay(state, [], 'NOT_DUE');
      const registration = withState(r, 'DEREGISTERING', now, event.cause);
      return stay({ kind: 'DEREGISTERING', registration }, [
        { kind: 'SET_STATE', registrationId: r.registrationId, from: 'REGISTERED', to: 'DEREGISTERING', cause: event.cause },
        { kind: 'POST', operation: 'DEREG', registration },
      ]);
    }
    default:
      return assertNever(state, 'machine state');
  }
}

function onRecovered(state: MachineState): Transition {
  switch (state.kind) {
    case 'REGISTERING':
      return stay(state, [{ kind: 'POST', operation: 'REG', registration: state.registration }]);
    case 'DEREGISTERING':
      return stay(state, [{ kind: 'POST', operation: 'DEREG', registration: state.registration }]);
    case 'ABSENT':
    case 'REGISTERED':
      return stay(state, [], 'NOTHING_TO_RECOVER');
    default:
      return assertNever(state, 'machine state');
  }
}

/** The machine state of a stored record (or of its absence). */
export function machineStateOf(registration: Registration | undefined, tombstone?: Tombstone): MachineState {
  if (registration === undefined) return tombstone === undefined ? { kind: 'ABSENT' } : { kind: 'ABSENT', tombstone };
  switch (registration.state) {
    case 'REGISTERING':
      return { kind: 'REGISTERING', registration };
    case 'REGISTERED':
      return { kind: 'REGISTERED', registration };
    case 'DEREGISTERING':
      return { kind: 'DEREGISTERING', registration };
    default:
      return assertNever(registration.state, 'registration state');
  }
}
