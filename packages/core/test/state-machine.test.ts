import {
  DEFAULT_MACHINE_POLICY,
  EXCHANGE_LIFETIME_MS,
  MACHINE_EVENT_KINDS,
  MACHINE_STATE_KINDS,
  machineStateOf,
  transition,
  type ApplicationId,
  type Layer2Id,
  type MachineEvent,
  type MachineState,
  type Registration,
  type RegistrationId,
  type Tombstone,
  type UeServiceId,
} from '@msgin5g/core';

const NOW = 1_800_000_000_000;
const A = '127.0.0.1:40001' as Layer2Id;
const B = '127.0.0.1:40002' as Layer2Id;
const RID = '0011223344556677' as RegistrationId;
const APP = 42 as ApplicationId;

const reg = (state: Registration['state']): Registration => ({
  registrationId: RID,
  applicationId: APP,
  layer2Id: A,
  link: 'udp',
  ueServiceId: 'gw-1/127.0.0.1:40001/42' as UeServiceId,
  state,
  createdAt: NOW - 1000,
  updatedAt: NOW - 1000,
  expiresAt: NOW + 1000,
});

const tomb = (expiresAt = NOW + 1000): Tombstone => ({
  registrationId: RID,
  applicationId: APP,
  layer2Id: A,
  link: 'udp',
  response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: RID, applicationId: APP },
  expiresAt,
});

const states: Record<string, MachineState> = {
  ABSENT: { kind: 'ABSENT' },
  'ABSENT+tombstone': { kind: 'ABSENT', tombstone: tomb() },
  'ABSENT+expired tombstone': { kind: 'ABSENT', tombstone: tomb(NOW) },
  REGISTERING: { kind: 'REGISTERING', registration: reg('REGISTERING') },
  REGISTERED: { kind: 'REGISTERED', registration: reg('REGISTERED') },
  DEREGISTERING: { kind: 'DEREGISTERING', registration: reg('DEREGISTERING') },
  'REGISTERED+due': { kind: 'REGISTERED', registration: { ...reg('REGISTERED'), expiresAt: NOW } },
  'DEREGISTERING by the gateway': { kind: 'DEREGISTERING', registration: { ...reg('DEREGISTERING'), deregistrationCause: 'KICKED' } },
};

const events: Record<string, MachineEvent> = {
  'REG from owner': { kind: 'REGISTRATION_REQUESTED', link: 'udp', layer2Id: A, applicationId: APP, candidate: { ...reg('REGISTERING'), registrationId: 'aaaaaaaaaaaaaaaa' as RegistrationId }, lifetimeS: 3600 },
  'DEREG from owner': { kind: 'DEREGISTRATION_REQUESTED', link: 'udp', layer2Id: A, registrationId: RID },
  'DEREG from other Layer-2 ID': { kind: 'DEREGISTRATION_REQUESTED', link: 'udp', layer2Id: B, registrationId: RID },
  'DEREG from owner address on other link': { kind: 'DEREGISTRATION_REQUESTED', link: 'coap', layer2Id: A, registrationId: RID },
  'REG answered SUCCESS': { kind: 'SERVER_ANSWERED', operation: 'REG', outcome: { kind: 'SUCCESS' } },
  'REG answered FAILURE': { kind: 'SERVER_ANSWERED', operation: 'REG', outcome: { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: '4.04' } },
  'DEREG answered SUCCESS': { kind: 'SERVER_ANSWERED', operation: 'DEREG', outcome: { kind: 'SUCCESS' } },
  'DEREG answered FAILURE': { kind: 'SERVER_ANSWERED', operation: 'DEREG', outcome: { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'deadline' } },
  RECOVERED: { kind: 'RECOVERED' },
  'END KICKED': { kind: 'END_REQUESTED', cause: 'KICKED' },
  'END EXPIRED': { kind: 'END_REQUESTED', cause: 'EXPIRED' },
};

type Expect = { state: MachineState['kind']; commands: string[]; note?: string; reason?: string };

// Every (state × event) pair, the illegal ones included. Commands are written KIND[:detail].
const table: Record<string, Record<string, Expect>> = {
  ABSENT: {
    'REG from owner': { state: 'REGISTERING', commands: ['INSERT', 'POST:REG'] },
    'DEREG from owner': { state: 'ABSENT', commands: ['RESPOND:A'], note: 'UNKNOWN_ID', reason: 'UNKNOWN_REGISTRATION_ID' },
    'DEREG from other Layer-2 ID': { state: 'ABSENT', commands: ['RESPOND:B'], note: 'UNKNOWN_ID', reason: 'UNKNOWN_REGISTRATION_ID' },
    'DEREG from owner address on other link': { state: 'ABSENT', commands: ['RESPOND:A'], note: 'UNKNOWN_ID', reason: 'UNKNOWN_REGISTRATION_ID' },
    'REG answered SUCCESS': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'REG answered FAILURE': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered SUCCESS': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered FAILURE': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    RECOVERED: { state: 'ABSENT', commands: [], note: 'NOTHING_TO_RECOVER' },
    'END KICKED': { state: 'ABSENT', commands: [], note: 'UNKNOWN_ID' },
    'END EXPIRED': { state: 'ABSENT', commands: [], note: 'UNKNOWN_ID' },
  },
  'ABSENT+tombstone': {
    'REG from owner': { state: 'REGISTERING', commands: ['INSERT', 'POST:REG'] },
    'DEREG from owner': { state: 'ABSENT', commands: ['RESPOND:A'], note: 'TOMBSTONE_REPLAY' },
    'DEREG from other Layer-2 ID': { state: 'ABSENT', commands: ['RESPOND:B'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'DEREG from owner address on other link': { state: 'ABSENT', commands: ['RESPOND:A'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'REG answered SUCCESS': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'REG answered FAILURE': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered SUCCESS': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered FAILURE': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    RECOVERED: { state: 'ABSENT', commands: [], note: 'NOTHING_TO_RECOVER' },
    'END KICKED': { state: 'ABSENT', commands: [], note: 'UNKNOWN_ID' },
    'END EXPIRED': { state: 'ABSENT', commands: [], note: 'UNKNOWN_ID' },
  },
  'ABSENT+expired tombstone': {
    'REG from owner': { state: 'REGISTERING', commands: ['INSERT', 'POST:REG'] },
    'DEREG from owner': { state: 'ABSENT', commands: ['RESPOND:A'], note: 'UNKNOWN_ID', reason: 'UNKNOWN_REGISTRATION_ID' },
    'DEREG from other Layer-2 ID': { state: 'ABSENT', commands: ['RESPOND:B'], note: 'UNKNOWN_ID', reason: 'UNKNOWN_REGISTRATION_ID' },
    'DEREG from owner address on other link': { state: 'ABSENT', commands: ['RESPOND:A'], note: 'UNKNOWN_ID', reason: 'UNKNOWN_REGISTRATION_ID' },
    'REG answered SUCCESS': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'REG answered FAILURE': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered SUCCESS': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered FAILURE': { state: 'ABSENT', commands: [], note: 'STALE_ANSWER' },
    RECOVERED: { state: 'ABSENT', commands: [], note: 'NOTHING_TO_RECOVER' },
    'END KICKED': { state: 'ABSENT', commands: [], note: 'UNKNOWN_ID' },
    'END EXPIRED': { state: 'ABSENT', commands: [], note: 'UNKNOWN_ID' },
  },
  REGISTERING: {
    'REG from owner': { state: 'REGISTERING', commands: [], note: 'DUPLICATE_ABSORBED' },
    'DEREG from owner': { state: 'REGISTERING', commands: ['RESPOND:A'], note: 'BUSY_WITH_OTHER_PROCEDURE', reason: 'UNKNOWN_REGISTRATION_ID' },
    'DEREG from other Layer-2 ID': { state: 'REGISTERING', commands: ['RESPOND:B'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'DEREG from owner address on other link': { state: 'REGISTERING', commands: ['RESPOND:A'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'REG answered SUCCESS': { state: 'REGISTERED', commands: ['SET_STATE:REGISTERED', 'RESPOND:A'] },
    'REG answered FAILURE': { state: 'ABSENT', commands: ['REMOVE', 'RESPOND:A'], reason: 'SERVER_REJECTED' },
    'DEREG answered SUCCESS': { state: 'REGISTERING', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered FAILURE': { state: 'REGISTERING', commands: [], note: 'STALE_ANSWER' },
    RECOVERED: { state: 'REGISTERING', commands: ['POST:REG'] },
    'END KICKED': { state: 'REGISTERING', commands: [], note: 'BUSY_WITH_OTHER_PROCEDURE' },
    'END EXPIRED': { state: 'REGISTERING', commands: [], note: 'BUSY_WITH_OTHER_PROCEDURE' },
  },
  REGISTERED: {
    'REG from owner': { state: 'REGISTERED', commands: ['SET_EXPIRY', 'RESPOND:A'], note: 'IDEMPOTENT_REPLY' },
    'DEREG from owner': { state: 'DEREGISTERING', commands: ['SET_STATE:DEREGISTERING', 'POST:DEREG'] },
    'DEREG from other Layer-2 ID': { state: 'REGISTERED', commands: ['RESPOND:B'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'DEREG from owner address on other link': { state: 'REGISTERED', commands: ['RESPOND:A'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'REG answered SUCCESS': { state: 'REGISTERED', commands: [], note: 'STALE_ANSWER' },
    'REG answered FAILURE': { state: 'REGISTERED', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered SUCCESS': { state: 'REGISTERED', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered FAILURE': { state: 'REGISTERED', commands: [], note: 'STALE_ANSWER' },
    RECOVERED: { state: 'REGISTERED', commands: [], note: 'NOTHING_TO_RECOVER' },
    'END KICKED': { state: 'DEREGISTERING', commands: ['SET_STATE:DEREGISTERING', 'POST:DEREG'] },
    'END EXPIRED': { state: 'REGISTERED', commands: [], note: 'NOT_DUE' },
  },
  DEREGISTERING: {
    'REG from owner': { state: 'DEREGISTERING', commands: ['RESPOND:A'], note: 'BUSY_WITH_OTHER_PROCEDURE', reason: 'CONGESTION' },
    'DEREG from owner': { state: 'DEREGISTERING', commands: [], note: 'DUPLICATE_ABSORBED' },
    'DEREG from other Layer-2 ID': { state: 'DEREGISTERING', commands: ['RESPOND:B'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'DEREG from owner address on other link': { state: 'DEREGISTERING', commands: ['RESPOND:A'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'REG answered SUCCESS': { state: 'DEREGISTERING', commands: [], note: 'STALE_ANSWER' },
    'REG answered FAILURE': { state: 'DEREGISTERING', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered SUCCESS': { state: 'ABSENT', commands: ['RESPOND:A', 'REMOVE+tombstone'] },
    'DEREG answered FAILURE': { state: 'REGISTERED', commands: ['SET_STATE:REGISTERED', 'RESPOND:A'], reason: 'SERVER_UNREACHABLE' },
    RECOVERED: { state: 'DEREGISTERING', commands: ['POST:DEREG'] },
    'END KICKED': { state: 'DEREGISTERING', commands: [], note: 'BUSY_WITH_OTHER_PROCEDURE' },
    'END EXPIRED': { state: 'DEREGISTERING', commands: [], note: 'BUSY_WITH_OTHER_PROCEDURE' },
  },
  // Its lifetime has run out (expiresAt <= now): only an EXPIRED end differs from REGISTERED.
  'REGISTERED+due': {
    'REG from owner': { state: 'REGISTERED', commands: ['SET_EXPIRY', 'RESPOND:A'], note: 'IDEMPOTENT_REPLY' },
    'DEREG from owner': { state: 'DEREGISTERING', commands: ['SET_STATE:DEREGISTERING', 'POST:DEREG'] },
    'DEREG from other Layer-2 ID': { state: 'REGISTERED', commands: ['RESPOND:B'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'DEREG from owner address on other link': { state: 'REGISTERED', commands: ['RESPOND:A'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'REG answered SUCCESS': { state: 'REGISTERED', commands: [], note: 'STALE_ANSWER' },
    'REG answered FAILURE': { state: 'REGISTERED', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered SUCCESS': { state: 'REGISTERED', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered FAILURE': { state: 'REGISTERED', commands: [], note: 'STALE_ANSWER' },
    RECOVERED: { state: 'REGISTERED', commands: [], note: 'NOTHING_TO_RECOVER' },
    'END KICKED': { state: 'DEREGISTERING', commands: ['SET_STATE:DEREGISTERING', 'POST:DEREG'] },
    'END EXPIRED': { state: 'DEREGISTERING', commands: ['SET_STATE:DEREGISTERING', 'POST:DEREG'] },
  },
  // The gateway started the de-registration (kick, expiry): the device is told nothing.
  'DEREGISTERING by the gateway': {
    'REG from owner': { state: 'DEREGISTERING', commands: ['RESPOND:A'], note: 'BUSY_WITH_OTHER_PROCEDURE', reason: 'CONGESTION' },
    'DEREG from owner': { state: 'DEREGISTERING', commands: ['RESPOND:A'], note: 'BUSY_WITH_OTHER_PROCEDURE', reason: 'CONGESTION' },
    'DEREG from other Layer-2 ID': { state: 'DEREGISTERING', commands: ['RESPOND:B'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'DEREG from owner address on other link': { state: 'DEREGISTERING', commands: ['RESPOND:A'], note: 'NOT_OWNER', reason: 'NOT_AUTHORISED' },
    'REG answered SUCCESS': { state: 'DEREGISTERING', commands: [], note: 'STALE_ANSWER' },
    'REG answered FAILURE': { state: 'DEREGISTERING', commands: [], note: 'STALE_ANSWER' },
    'DEREG answered SUCCESS': { state: 'ABSENT', commands: ['REMOVE+tombstone'] },
    'DEREG answered FAILURE': { state: 'REGISTERED', commands: ['SET_STATE:REGISTERED'] },
    RECOVERED: { state: 'DEREGISTERING', commands: ['POST:DEREG'] },
    'END KICKED': { state: 'DEREGISTERING', commands: [], note: 'BUSY_WITH_OTHER_PROCEDURE' },
    'END EXPIRED': { state: 'DEREGISTERING', commands: [], note: 'BUSY_WITH_OTHER_PROCEDURE' },
  },
};

function describeCommands(commands: ReturnType<typeof transition>['commands']): string[] {
  return commands.map((c) => {
    switch (c.kind) {
      case 'INSERT':
        return 'INSERT';
      case 'SET_STATE':
        return `SET_STATE:${c.to}`;
      case 'REMOVE':
        return c.tombstone ? 'REMOVE+tombstone' : 'REMOVE';
      case 'SET_EXPIRY':
        return 'SET_EXPIRY';
      case 'POST':
        return `POST:${c.operation}`;
      case 'RESPOND':
        return `RESPOND:${c.to === A ? 'A' : c.to === B ? 'B' : c.to}`;
    }
  });
}

describe('transition over every (state × event) pair', () => {
  it('the table covers every state kind and event kind', () => {
    expect(new Set(Object.values(states).map((s) => s.kind))).toEqual(new Set(MACHINE_STATE_KINDS));
    expect(new Set(Object.values(events).map((e) => e.kind))).toEqual(new Set(MACHINE_EVENT_KINDS));
    for (const s of Object.keys(states)) expect(Object.keys(table[s] ?? {}).sort()).toEqual(Object.keys(events).sort());
  });

  for (const [sName, state] of Object.entries(states)) {
    for (const [eName, event] of Object.entries(events)) {
      const want = table[sName]?.[eName] as Expect;
      it(`${sName} + ${eName} → ${want.state} [${want.commands.join(', ')}]`, () => {
        const t = transition(state, event, NOW);
        expect(t.state.kind).toBe(want.state);
        expect(describeCommands(t.commands)).toEqual(want.commands);
        expect(t.note).toBe(want.note);
        const responses = t.commands.filter((c) => c.kind === 'RESPOND');
        if (want.reason !== undefined) {
          expect(responses).toHaveLength(1);
          expect(responses[0]).toMatchObject({ response: { result: 'FAILURE', failureReason: want.reason } });
        } else {
          for (const r of responses) expect(r).toMatchObject({ response: { result: 'SUCCESS' } });
        }
      });
    }
  }
});

describe('EXCHANGE_LIFETIME_MS (the one definition; everything else imports it)', () => {
  it('is RFC 7252 §4.8.2 EXCHANGE_LIFETIME with the default transmission parameters, 247 s, and the default tombstone lifetime', () => {
    // MAX_TRANSMIT_SPAN 45 s + 2 × MAX_LATENCY 100 s + PROCESSING_DELAY 2 s
    expect(EXCHANGE_LIFETIME_MS).toBe((45 + 2 * 100 + 2) * 1000);
    expect(DEFAULT_MACHINE_POLICY.tombstoneLifetimeMs).toBe(EXCHANGE_LIFETIME_MS);
  });
});

describe('transition details', () => {
  it('persists before it acts: INSERT precedes POST, SET_STATE precedes POST and RESPOND', () => {
    for (const state of Object.values(states)) {
      for (const event of Object.values(events)) {
        const kinds = transition(state, event, NOW).commands.map((c) => c.kind);
        const post = kinds.indexOf('POST');
        if (post >= 0) expect(kinds.slice(0, post).some((k) => k === 'INSERT' || k === 'SET_STATE') || event.kind === 'RECOVERED').toBe(true);
        const set = kinds.indexOf('SET_STATE');
        const respond = kinds.indexOf('RESPOND');
        if (set >= 0 && respond >= 0) expect(set).toBeLessThan(respond);
      }
    }
  });

  it('a successful de-registration responds with the stored Application ID and the Registration ID, then removes the mapping (CR b.1, c, d)', () => {
    const t = transition(states.DEREGISTERING as MachineState, events['DEREG answered SUCCESS'] as MachineEvent, NOW);
    expect(t.commands[0]).toEqual({
      kind: 'RESPOND',
      link: 'udp',
      to: A,
      response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: RID, applicationId: APP },
    });
    expect(t.commands[1]).toMatchObject({ kind: 'REMOVE', registrationId: RID, tombstone: { expiresAt: NOW + EXCHANGE_LIFETIME_MS, layer2Id: A } });
  });

  it('the tombstone replays the exact stored response', () => {
    const t = transition(states['ABSENT+tombstone'] as MachineState, events['DEREG from owner'] as MachineEvent, NOW);
    expect(t.commands).toEqual([{ kind: 'RESPOND', link: 'udp', to: A, response: tomb().response }]);
  });

  it('removeMappingOnFailure gives the literal reading of CR step d', () => {
    const t = transition(states.DEREGISTERING as MachineState, events['DEREG answered FAILURE'] as MachineEvent, NOW, { ...DEFAULT_MACHINE_POLICY, removeMappingOnFailure: true });
    expect(t.state.kind).toBe('ABSENT');
    expect(describeCommands(t.commands)).toEqual(['RESPOND:A', 'REMOVE']);
  });

  it('a failed registration answers with the Failure reason and the Application ID', () => {
    const t = transition(states.REGISTERING as MachineState, events['REG answered FAILURE'] as MachineEvent, NOW);
    expect(t.commands[1]).toMatchObject({ response: { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'SERVER_REJECTED', applicationId: APP } });
  });

  it('a gateway-initiated end persists DEREGISTERING with its cause, then POSTs the record carrying it', () => {
    const t = transition(states.REGISTERED as MachineState, { kind: 'END_REQUESTED', cause: 'KICKED' }, NOW);
    expect(t.commands[0]).toEqual({ kind: 'SET_STATE', registrationId: RID, from: 'REGISTERED', to: 'DEREGISTERING', cause: 'KICKED' });
    expect(t.commands[1]).toMatchObject({ kind: 'POST', operation: 'DEREG', registration: { state: 'DEREGISTERING', deregistrationCause: 'KICKED', updatedAt: NOW } });
    expect(t.state).toMatchObject({ kind: 'DEREGISTERING', registration: { deregistrationCause: 'KICKED' } });
  });

  it('an EXPIRED end is due exactly when expiresAt <= now', () => {
    const r = { ...reg('REGISTERED'), expiresAt: NOW + 1 };
    expect(transition({ kind: 'REGISTERED', registration: r }, { kind: 'END_REQUESTED', cause: 'EXPIRED' }, NOW).note).toBe('NOT_DUE');
    expect(transition({ kind: 'REGISTERED', registration: r }, { kind: 'END_REQUESTED', cause: 'EXPIRED' }, NOW + 1).state.kind).toBe('DEREGISTERING');
  });

  it("a gateway-initiated de-registration that succeeds keeps the device's success response as tombstone and sends nothing", () => {
    const t = transition(states['DEREGISTERING by the gateway'] as MachineState, events['DEREG answered SUCCESS'] as MachineEvent, NOW);
    expect(t.commands).toEqual([
      {
        kind: 'REMOVE',
        registrationId: RID,
        tombstone: { registrationId: RID, applicationId: APP, layer2Id: A, link: 'udp', response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: RID, applicationId: APP }, expiresAt: NOW + EXCHANGE_LIFETIME_MS },
      },
    ]);
  });

  it('a gateway-initiated de-registration that fails goes back to REGISTERED without its cause, even with removeMappingOnFailure', () => {
    const t = transition(states['DEREGISTERING by the gateway'] as MachineState, events['DEREG answered FAILURE'] as MachineEvent, NOW, { ...DEFAULT_MACHINE_POLICY, removeMappingOnFailure: true });
    expect(t.state.kind).toBe('REGISTERED');
    expect(describeCommands(t.commands)).toEqual(['SET_STATE:REGISTERED']);
    expect(t.state.kind === 'REGISTERED' && t.state.registration).not.toHaveProperty('deregistrationCause');
  });

  it('a repeated REG while REGISTERED refreshes the lifetime: SET_EXPIRY (persisted) before the answer, which carries the lifetime granted', () => {
    const t = transition(states.REGISTERED as MachineState, events['REG from owner'] as MachineEvent, NOW);
    expect(t.commands).toEqual([
      { kind: 'SET_EXPIRY', registrationId: RID, expiresAt: NOW + 3_600_000 },
      { kind: 'RESPOND', link: 'udp', to: A, response: { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: RID, applicationId: APP, lifetimeS: 3600 } },
    ]);
    expect(t.state).toMatchObject({ kind: 'REGISTERED', registration: { expiresAt: NOW + 3_600_000, updatedAt: NOW } });
  });

  it('the success answer of a new registration carries the lifetime granted at the request (expiresAt − createdAt)', () => {
    const r = { ...reg('REGISTERING'), createdAt: NOW - 5000, expiresAt: NOW - 5000 + 120_000 };
    const t = transition({ kind: 'REGISTERING', registration: r }, events['REG answered SUCCESS'] as MachineEvent, NOW);
    expect(t.commands[1]).toMatchObject({ kind: 'RESPOND', response: { result: 'SUCCESS', lifetimeS: 120 } });
  });

  it('machineStateOf maps stored records and tombstones', () => {
    expect(machineStateOf(undefined).kind).toBe('ABSENT');
    expect(machineStateOf(undefined, tomb())).toEqual({ kind: 'ABSENT', tombstone: tomb() });
    expect(machineStateOf(reg('DEREGISTERING')).kind).toBe('DEREGISTERING');
  });
});
