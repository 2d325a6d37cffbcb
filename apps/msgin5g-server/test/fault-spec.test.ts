import { formatFaultSpec, parseFaultSpec, type FaultSpec } from '@msgin5g/server';

describe('fault SPEC grammar', () => {
  it.each<[string, FaultSpec]>([
    ['delay=10000', { fault: { kind: 'delay', ms: 10000 } }],
    ['drop', { fault: { kind: 'drop' } }],
    ['lost@DEREG*1', { fault: { kind: 'lost' }, operation: 'DEREG', count: 1 }],
    ['drop@DEREG*1', { fault: { kind: 'drop' }, operation: 'DEREG', count: 1 }],
    ['fail=QUOTA_EXCEEDED@REG', { fault: { kind: 'fail', failureCause: 'QUOTA_EXCEEDED' }, operation: 'REG' }],
    ['separate=3000*2', { fault: { kind: 'separate', ms: 3000 }, count: 2 }],
    ['code=5.03', { fault: { kind: 'code', code: '5.03' } }],
    ['code=4.04@DEREG', { fault: { kind: 'code', code: '4.04' }, operation: 'DEREG' }],
    ['rst', { fault: { kind: 'rst' } }],
    ['empty*3', { fault: { kind: 'empty' }, count: 3 }],
    ['badjson', { fault: { kind: 'badjson' } }],
    ['noresult@DEREG', { fault: { kind: 'noresult' }, operation: 'DEREG' }],
  ])('reads %j and writes it back', (text, spec) => {
    expect(parseFaultSpec(text)).toEqual({ ok: true, value: spec });
    expect(formatFaultSpec(spec)).toBe(text);
  });

  it.each([
    ['', 'expected FAULT'],
    ['explode', 'unknown fault'],
    ['delay', 'delay=MS'],
    ['delay=-5', 'delay=MS'],
    ['delay=600001', 'at most 600000'],
    ['separate=1.5', 'separate=MS'],
    ['fail', 'fail=CAUSE'],
    ['fail=', 'fail=CAUSE'],
    ['fail=A\u0001B', 'printable'],
    [`fail=${'x'.repeat(201)}`, 'printable'],
    ['code=2.04', '4.xx or 5.xx'],
    ['code=5.3', '4.xx or 5.xx'],
    ['code=404', '4.xx or 5.xx'],
    ['drop=1', 'takes no argument'],
    ['drop@FOO', 'REG, DEREG, MSG or IMDN'],
    ['drop@dereg', 'REG, DEREG, MSG or IMDN'],
    ['drop*0', 'N must be'],
    ['drop*2000000', 'N must be'],
    ['drop*1@DEREG', 'expected FAULT'],
  ])('refuses %j (%s)', (text, why) => {
    const r = parseFaultSpec(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(why);
  });
});
