/**
 * The faults the reference server currently applies, changeable at run time (tests script the
 * next answer with `faults.add('fail=QUOTA_EXCEEDED*1')`). Specs are tried in the order they were
 * added; the first one whose operation matches applies, and a counted spec is removed when used up.
 * One request gets at most one fault; retransmitted copies of a request do not consume a count.
 */
import { formatFaultSpec, parseFaultSpec, type Fault, type FaultOperation, type FaultSpec } from './fault-spec';

export class FaultPlan {
  private readonly entries: Array<{ spec: FaultSpec; remaining: number | undefined }> = [];

  constructor(initial: readonly (FaultSpec | string)[] = []) {
    for (const spec of initial) this.add(spec);
  }

  /**
   * Appends a spec (a {@link FaultSpec} or its SPEC text).
   * @throws Error naming the bad part when the text does not parse, or the count is not 1..1000000.
   */
  add(spec: FaultSpec | string): this {
    let value: FaultSpec;
    if (typeof spec === 'string') {
      const parsed = parseFaultSpec(spec);
      if (!parsed.ok) throw new Error(parsed.error);
      value = parsed.value;
    } else {
      const reparsed = parseFaultSpec(formatFaultSpec(spec));
      if (!reparsed.ok) throw new Error(reparsed.error);
      value = spec;
    }
    this.entries.push({ spec: value, remaining: value.count });
    return this;
  }

  /** Removes every spec: the server answers normally from now on. */
  clear(): void {
    this.entries.length = 0;
  }

  /** The specs in force, with what is left of their counts. */
  list(): FaultSpec[] {
    return this.entries.map(({ spec, remaining }) => (remaining === undefined ? spec : { ...spec, count: remaining }));
  }

  /** The fault for a new request with this operation (and uses one count of it), or `undefined`. */
  take(operation: FaultOperation): Fault | undefined {
    const bare = operation === 'REG' || operation === 'DEREG'; // a spec without @OP applies to these only
    const i = this.entries.findIndex((e) => (e.spec.operation === undefined ? bare : e.spec.operation === operation));
    if (i < 0) return undefined;
    const entry = this.entries[i]!;
    if (entry.remaining !== undefined) {
      entry.remaining -= 1;
      if (entry.remaining <= 0) this.entries.splice(i, 1);
    }
    return entry.spec.fault;
  }
}
