import type { MessageId, MessageOutcome, ServerOutcome } from '@msgin5g/core';
import { encodeMsgin5g1Answer, interpretMessageAnswer, interpretReportAnswer, interpretServerAnswer, type ServerOperation } from '@msgin5g/protocol';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const answer = (messageType: ServerOperation, result: 'SUCCESS' | 'FAILURE', failureCause?: string): Uint8Array =>
  encodeMsgin5g1Answer(failureCause === undefined ? { messageType, result } : { messageType, result, failureCause });
const rejected = (cause: string): ServerOutcome => ({ kind: 'FAILURE', reason: 'SERVER_REJECTED', cause });
const unreachable = (cause: string): ServerOutcome => ({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause });

describe('interpretServerAnswer: docs/wire-formats.md §4 table', () => {
  it.each(['REG', 'DEREG'] as const)('2.xx with result SUCCESS → success (%s)', (op) => {
    expect(interpretServerAnswer(op, '2.04', answer(op, 'SUCCESS'))).toEqual({ kind: 'SUCCESS' });
    expect(interpretServerAnswer(op, '2.01', answer(op, 'SUCCESS'))).toEqual({ kind: 'SUCCESS' });
  });

  it('2.xx FAILURE NOT_REGISTERED to a DEREG → success, with a note', () => {
    const outcome = interpretServerAnswer('DEREG', '2.04', answer('DEREG', 'FAILURE', 'NOT_REGISTERED'));
    expect(outcome).toMatchObject({ kind: 'SUCCESS' });
    expect(outcome.kind === 'SUCCESS' && outcome.note).toContain('NOT_REGISTERED');
  });

  it.each(['REG', 'DEREG'] as const)('2.xx FAILURE GATEWAY_NOT_REGISTERED → GATEWAY_NOT_REGISTERED, apart from SERVER_REJECTED (%s)', (op) => {
    for (const code of ['2.04', '2.01']) {
      expect(interpretServerAnswer(op, code, answer(op, 'FAILURE', 'GATEWAY_NOT_REGISTERED'))).toEqual({ kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'FAILURE GATEWAY_NOT_REGISTERED' });
    }
    // Only the exact cause text: a near miss is an ordinary rejection.
    expect(interpretServerAnswer(op, '2.04', answer(op, 'FAILURE', 'gateway_not_registered'))).toEqual(rejected('FAILURE gateway_not_registered'));
    // The cause inside a non-2.xx answer is not read.
    expect(interpretServerAnswer(op, '4.03', answer(op, 'FAILURE', 'GATEWAY_NOT_REGISTERED'))).toEqual(rejected('4.03 Forbidden'));
    expect(interpretServerAnswer(op, '5.03', answer(op, 'FAILURE', 'GATEWAY_NOT_REGISTERED'))).toMatchObject({ reason: 'SERVER_UNREACHABLE' });
  });

  it('2.xx FAILURE with any other cause → SERVER_REJECTED, the cause kept', () => {
    expect(interpretServerAnswer('REG', '2.04', answer('REG', 'FAILURE', 'QUOTA_EXCEEDED'))).toEqual(rejected('FAILURE QUOTA_EXCEEDED'));
    expect(interpretServerAnswer('DEREG', '2.04', answer('DEREG', 'FAILURE', 'FORBIDDEN'))).toEqual(rejected('FAILURE FORBIDDEN'));
    expect(interpretServerAnswer('DEREG', '2.04', answer('DEREG', 'FAILURE'))).toEqual(rejected('FAILURE without failureCause'));
  });

  it('2.xx with an empty or non-JSON body, or no result → SERVER_REJECTED', () => {
    expect(interpretServerAnswer('REG', '2.04', undefined)).toEqual(rejected('2.04 with an empty body'));
    expect(interpretServerAnswer('REG', '2.05', new Uint8Array(0))).toEqual(rejected('2.05 with an empty body'));
    expect(interpretServerAnswer('REG', '2.04', utf8('[1,2]'))).toMatchObject({ reason: 'SERVER_REJECTED', cause: expect.stringContaining('must be a JSON object') });
    expect(interpretServerAnswer('REG', '2.04', Uint8Array.of(0xff, 0xfe))).toMatchObject({ reason: 'SERVER_REJECTED', cause: expect.stringContaining('not UTF-8') });
    expect(interpretServerAnswer('REG', '2.04', utf8('{"messageType":"REG"}'))).toEqual(rejected('2.04 without result'));
  });

  it('2.xx with an unusable answer → SERVER_REJECTED naming the problem', () => {
    expect(interpretServerAnswer('REG', '2.04', utf8('{"messageType":"REG","result":"OK"}'))).toMatchObject({
      reason: 'SERVER_REJECTED',
      cause: expect.stringContaining('member "result" must be one of "SUCCESS", "FAILURE"'),
    });
    expect(interpretServerAnswer('REG', '2.04', utf8('{"result":"SUCCESS"}'))).toMatchObject({ reason: 'SERVER_REJECTED', cause: expect.stringContaining('"messageType" is missing') });
    expect(interpretServerAnswer('DEREG', '2.04', answer('REG', 'SUCCESS'))).toEqual(rejected('2.04 answers REG, not DEREG'));
    expect(interpretServerAnswer('DEREG', '2.04', utf8('{"messageType":"DEREG","result":"FAILURE","failureCause":7}'))).toMatchObject({
      reason: 'SERVER_REJECTED',
      cause: expect.stringContaining('"failureCause" must be a string, got a number (7)'),
    });
  });

  it('ignores unknown members of an answer', () => {
    expect(interpretServerAnswer('REG', '2.04', utf8('{"messageType":"REG","result":"SUCCESS","expiry":3600}'))).toEqual({ kind: 'SUCCESS' });
  });

  it.each([
    ['4.00', '4.00 Bad Request'],
    ['4.01', '4.01 Unauthorized'],
    ['4.03', '4.03 Forbidden'],
    ['4.04', '4.04 Not Found'],
    ['4.15', '4.15 Unsupported Content-Format'],
    ['4.31', '4.31'],
  ])('%s → SERVER_REJECTED "%s"', (code, cause) => {
    expect(interpretServerAnswer('REG', code, answer('REG', 'SUCCESS'))).toEqual(rejected(cause));
  });

  it.each([
    ['5.00', '5.00 Internal Server Error'],
    ['5.03', '5.03 Service Unavailable'],
    ['5.04', '5.04 Gateway Timeout'],
    ['5.31', '5.31'],
  ])('%s → SERVER_UNREACHABLE "%s"', (code, cause) => {
    expect(interpretServerAnswer('DEREG', code, answer('DEREG', 'SUCCESS'))).toEqual(unreachable(cause));
  });

  it('RST, timeout and network errors → SERVER_UNREACHABLE', () => {
    expect(interpretServerAnswer('DEREG', 'RST', undefined)).toEqual(unreachable('RST: the server reset the exchange'));
    expect(interpretServerAnswer('DEREG', 'TIMEOUT', undefined)).toEqual(unreachable('no answer within the deadline'));
    expect(interpretServerAnswer('DEREG', 'NETWORK_ERROR', undefined)).toEqual(unreachable('network error'));
  });

  it('C05: a CoAP code 0.00 is never read as success, whatever the body', () => {
    const outcome = interpretServerAnswer('DEREG', '0.00', answer('DEREG', 'SUCCESS'));
    expect(outcome).toEqual(unreachable('0.00 Empty: no final answer'));
  });

  it('codes that are not responses, or not codes at all → SERVER_REJECTED, never success', () => {
    const body = answer('REG', 'SUCCESS');
    expect(interpretServerAnswer('REG', '0.02', body)).toEqual(rejected('0.02 is a request code, not an answer'));
    for (const code of ['1.00', '3.00', '6.01', '7.31']) expect(interpretServerAnswer('REG', code, body)).toEqual(rejected(`${code} is not a response code`));
    for (const code of ['2.32', '2.4', '204', '2.04 ', '', 'x.yz', '8.00']) expect(interpretServerAnswer('REG', code, body)).toMatchObject({ reason: 'SERVER_REJECTED', cause: expect.stringContaining('unreadable answer code') });
  });

  it('keeps a server-supplied cause printable and bounded', () => {
    const outcome = interpretServerAnswer('REG', '2.04', answer('REG', 'FAILURE', `bad\nline\u0007${'z'.repeat(500)}`));
    if (outcome.kind !== 'FAILURE') throw new Error('expected a failure');
    expect(outcome.cause.startsWith('FAILURE bad?line?zzz')).toBe(true);
    expect(outcome.cause.length).toBeLessThanOrEqual('FAILURE '.length + 201);
  });

  it('keeps the cause printable when the body itself is not JSON (the parser quotes it; found by pnpm fuzz)', () => {
    for (const body of [Uint8Array.of(0x00), utf8('\u0007{"x'), utf8('{"result":"SUCCESS"\n\r\u001b[31m')]) {
      const outcome = interpretServerAnswer('DEREG', '2.04', body);
      if (outcome.kind !== 'FAILURE') throw new Error('expected a failure');
      expect(outcome.cause).toMatch(/^2\.04 with an unusable body/);
      expect([...outcome.cause].filter((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)).toEqual([]);
    }
  });
});

describe('interpretServerAnswer: cases C06', () => {
  // The fake server's answers in turn, read for the DEREG of a constrained device.
  const c06: Array<[string, string, Uint8Array | undefined, ServerOutcome['kind'], string | undefined]> = [
    ['4.04', '4.04', answer('DEREG', 'SUCCESS'), 'FAILURE', 'SERVER_REJECTED'],
    ['5.03 with Max-Age 30', '5.03', undefined, 'FAILURE', 'SERVER_UNREACHABLE'],
    ['2.04 with no payload', '2.04', undefined, 'FAILURE', 'SERVER_REJECTED'],
    ['2.04 with {not json', '2.04', utf8('{not json'), 'FAILURE', 'SERVER_REJECTED'],
    ['2.04 JSON without result', '2.04', utf8('{"messageType":"DEREG"}'), 'FAILURE', 'SERVER_REJECTED'],
    ['2.04 FAILURE NOT_REGISTERED', '2.04', answer('DEREG', 'FAILURE', 'NOT_REGISTERED'), 'SUCCESS', undefined],
  ];

  it('C06: 4.04, 5.03, 2.04 empty, 2.04 {not json, 2.04 without result, 2.04 FAILURE NOT_REGISTERED → REJECTED, UNREACHABLE, REJECTED, REJECTED, REJECTED, success', () => {
    const outcomes = c06.map(([, code, body]) => interpretServerAnswer('DEREG', code, body));
    expect(outcomes.map((o) => (o.kind === 'SUCCESS' ? 'SUCCESS' : o.reason))).toEqual(['SERVER_REJECTED', 'SERVER_UNREACHABLE', 'SERVER_REJECTED', 'SERVER_REJECTED', 'SERVER_REJECTED', 'SUCCESS']);
    expect(outcomes.map((o) => (o.kind === 'FAILURE' ? o.cause : o.note))).toEqual([
      '4.04 Not Found',
      '5.03 Service Unavailable',
      '2.04 with an empty body',
      expect.stringMatching(/^2\.04 with an unusable body \(answer: body is not JSON/),
      '2.04 without result',
      expect.stringContaining('NOT_REGISTERED'),
    ]);
    for (const [name, code, body, kind, reason] of c06) {
      const o = interpretServerAnswer('DEREG', code, body);
      expect({ name, kind: o.kind, reason: o.kind === 'FAILURE' ? o.reason : undefined }).toEqual({ name, kind, reason });
    }
  });

  it('C06: the same FAILURE NOT_REGISTERED answering a REG is SERVER_REJECTED', () => {
    expect(interpretServerAnswer('REG', '2.04', answer('REG', 'FAILURE', 'NOT_REGISTERED'))).toEqual(rejected('FAILURE NOT_REGISTERED'));
  });
});

describe('interpretMessageAnswer: a MSG answer (docs/wire-formats.md §5.4, §4 table)', () => {
  const MID = '000102030405060708090a0b0c0d0e0f' as MessageId;
  const resp = (status: string, failureCause?: string, msgId: string = MID): Uint8Array =>
    utf8(JSON.stringify(failureCause === undefined ? { messageType: 'MSGRESP', msgId, status } : { messageType: 'MSGRESP', msgId, status, failureCause }));
  const failure = (reason: MessageOutcome extends infer O ? (O extends { reason: infer R } ? R : never) : never, cause: string): MessageOutcome => ({ kind: 'FAILURE', reason, cause });

  it.each([
    ['DELIVERED', undefined, { kind: 'ACCEPTED', deliveryStatus: 'DELIVERED' }],
    ['DELY_STORED', undefined, { kind: 'ACCEPTED', deliveryStatus: 'STORED' }],
    ['DELY_FAILED', 'RECIPIENT_UNKNOWN', failure('RECIPIENT_UNKNOWN', 'DELY_FAILED RECIPIENT_UNKNOWN')],
    ['DELY_FAILED', 'PAYLOAD_TOO_LARGE', failure('PAYLOAD_TOO_LARGE', 'DELY_FAILED PAYLOAD_TOO_LARGE')],
    ['DELY_FAILED', 'GATEWAY_NOT_REGISTERED', failure('GATEWAY_NOT_REGISTERED', 'DELY_FAILED GATEWAY_NOT_REGISTERED')],
    ['DELY_FAILED', 'CONGESTION', failure('SERVER_REJECTED', 'DELY_FAILED CONGESTION')],
    ['DELY_FAILED', 'recipient_unknown', failure('SERVER_REJECTED', 'DELY_FAILED recipient_unknown')],
    ['DELY_FAILED', undefined, failure('SERVER_REJECTED', 'DELY_FAILED without failureCause')],
  ] as const)('2.04 MSGRESP %s %s', (status, cause, outcome) => {
    expect(interpretMessageAnswer('2.04', resp(status, cause), MID)).toEqual(outcome);
  });

  it('4.13 → PAYLOAD_TOO_LARGE; other 4.xx → SERVER_REJECTED; 5.xx, RST, 0.00, timeout, network error → SERVER_UNREACHABLE', () => {
    expect(interpretMessageAnswer('4.13', undefined, MID)).toEqual(failure('PAYLOAD_TOO_LARGE', '4.13 Request Entity Too Large'));
    expect(interpretMessageAnswer('4.00', utf8('{"error":"x"}'), MID)).toEqual(failure('SERVER_REJECTED', '4.00 Bad Request'));
    expect(interpretMessageAnswer('4.04', undefined, MID)).toEqual(failure('SERVER_REJECTED', '4.04 Not Found'));
    for (const code of ['5.00', '5.03', 'RST', '0.00', 'TIMEOUT', 'NETWORK_ERROR']) expect(interpretMessageAnswer(code, resp('DELIVERED'), MID)).toMatchObject({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE' });
    for (const code of ['3.00', '0.02', '1.01', 'x']) expect(interpretMessageAnswer(code, resp('DELIVERED'), MID)).toMatchObject({ kind: 'FAILURE', reason: 'SERVER_REJECTED' });
  });

  it('2.xx that is no MSGRESP for this message → SERVER_REJECTED naming the problem', () => {
    expect(interpretMessageAnswer('2.04', undefined, MID)).toEqual(failure('SERVER_REJECTED', '2.04 with an empty body'));
    expect(interpretMessageAnswer('2.04', utf8('{not json'), MID)).toMatchObject({ reason: 'SERVER_REJECTED', cause: expect.stringContaining('unusable MSGRESP') });
    expect(interpretMessageAnswer('2.04', utf8('{"messageType":"MSG","result":"SUCCESS"}'), MID)).toMatchObject({ reason: 'SERVER_REJECTED', cause: expect.stringContaining('"messageType" must be one of "MSGRESP"') });
    expect(interpretMessageAnswer('2.04', resp('SENT'), MID)).toMatchObject({ reason: 'SERVER_REJECTED', cause: expect.stringContaining('"status"') });
    expect(interpretMessageAnswer('2.04', resp('DELIVERED', undefined, 'ff'.repeat(16)), MID)).toEqual(failure('SERVER_REJECTED', `2.04 MSGRESP for msgId ${'ff'.repeat(16)}, not ${MID}`));
    // Unknown members are ignored (answers are read leniently).
    expect(interpretMessageAnswer('2.04', utf8(`{"messageType":"MSGRESP","msgId":"${MID}","status":"DELIVERED","x":1}`), MID)).toEqual({ kind: 'ACCEPTED', deliveryStatus: 'DELIVERED' });
  });
});

describe('interpretReportAnswer: an IMDN answer (docs/wire-formats.md §5.4, §4 table)', () => {
  const imdn = (result: string, failureCause?: string): Uint8Array => utf8(JSON.stringify(failureCause === undefined ? { messageType: 'IMDN', result } : { messageType: 'IMDN', result, failureCause }));

  it('2.04 SUCCESS → success; FAILURE GATEWAY_NOT_REGISTERED → that; other FAILURE → SERVER_REJECTED with the cause', () => {
    expect(interpretReportAnswer('2.04', imdn('SUCCESS'))).toEqual({ kind: 'SUCCESS' });
    expect(interpretReportAnswer('2.04', imdn('FAILURE', 'GATEWAY_NOT_REGISTERED'))).toEqual({ kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'FAILURE GATEWAY_NOT_REGISTERED' });
    expect(interpretReportAnswer('2.04', imdn('FAILURE', 'RECIPIENT_UNKNOWN'))).toEqual(rejected('FAILURE RECIPIENT_UNKNOWN'));
    expect(interpretReportAnswer('2.04', imdn('FAILURE'))).toEqual(rejected('FAILURE without failureCause'));
  });

  it('empty, unusable or another answer → SERVER_REJECTED; codes as §4', () => {
    expect(interpretReportAnswer('2.04', new Uint8Array(0))).toEqual(rejected('2.04 with an empty body'));
    expect(interpretReportAnswer('2.04', utf8('{"messageType":"MSGRESP","result":"SUCCESS"}'))).toMatchObject({ reason: 'SERVER_REJECTED', cause: expect.stringContaining('unusable IMDN answer') });
    expect(interpretReportAnswer('4.13', undefined)).toEqual(rejected('4.13 Request Entity Too Large'));
    expect(interpretReportAnswer('5.03', imdn('SUCCESS'))).toEqual(unreachable('5.03 Service Unavailable'));
    expect(interpretReportAnswer('RST', undefined)).toMatchObject({ reason: 'SERVER_UNREACHABLE' });
    expect(interpretReportAnswer('TIMEOUT', undefined)).toEqual(unreachable('no answer within the deadline'));
  });
});
