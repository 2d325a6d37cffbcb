import { FaultPlan } from '@msgin5g/server';

describe('FaultPlan', () => {
  it('applies nothing when empty', () => {
    expect(new FaultPlan().take('REG')).toBeUndefined();
  });

  it('applies the first matching spec, honours @OP scopes and uses up *N counts', () => {
    const plan = new FaultPlan(['drop@DEREG*1', 'fail=X@REG*2', 'rst']);
    expect(plan.take('REG')).toEqual({ kind: 'fail', failureCause: 'X' });
    expect(plan.take('DEREG')).toEqual({ kind: 'drop' });
    expect(plan.take('DEREG')).toEqual({ kind: 'rst' });
    expect(plan.take('REG')).toEqual({ kind: 'fail', failureCause: 'X' });
    expect(plan.take('REG')).toEqual({ kind: 'rst' });
    expect(plan.list()).toEqual([{ fault: { kind: 'rst' } }]);
  });

  it('a spec without @OP applies to REG and DEREG only; MSG and IMDN are faulted only when named', () => {
    const plan = new FaultPlan(['rst', 'code=5.03@MSG*1', 'fail=X@IMDN']);
    expect(plan.take('MSG')).toEqual({ kind: 'code', code: '5.03' });
    expect(plan.take('MSG')).toBeUndefined();
    expect(plan.take('IMDN')).toEqual({ kind: 'fail', failureCause: 'X' });
    expect(plan.take('REG')).toEqual({ kind: 'rst' });
  });

  it('lists remaining counts, and clear() removes everything', () => {
    const plan = new FaultPlan().add('empty*3').add({ fault: { kind: 'code', code: '5.03' }, operation: 'REG' });
    plan.take('DEREG');
    expect(plan.list()).toEqual([{ fault: { kind: 'empty' }, count: 2 }, { fault: { kind: 'code', code: '5.03' }, operation: 'REG' }]);
    plan.clear();
    expect(plan.take('REG')).toBeUndefined();
  });

  it('refuses a bad spec with the parse error', () => {
    expect(() => new FaultPlan().add('delay=fast')).toThrow(/delay=MS/);
    expect(() => new FaultPlan().add({ fault: { kind: 'code', code: '2.04' } })).toThrow(/4.xx or 5.xx/);
    expect(() => new FaultPlan().add({ fault: { kind: 'drop' }, count: 0 })).toThrow(/N must be/);
  });
});
