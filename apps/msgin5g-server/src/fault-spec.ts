/**
 * Fault specifications of the reference MSGin5G Server: how it misbehaves on purpose, for tests
 * (cases C02–C06) and demos. One grammar serves the CLI (`--fault SPEC`, repeatable) and the
 * library (`server.faults.add('drop@DEREG*1')`).
 *
 * ```
 * SPEC  := FAULT [ '@' OP ] [ '*' N ]          e.g. drop@DEREG*1, delay=10000, fail=QUOTA_EXCEEDED@REG, code=5.03@MSG*1
 * OP    := REG | DEREG | MSG | IMDN             only requests with this messageType (default: REG and DEREG)
 * N     := 1..1000000                           only the next N matching requests (default: all)
 * FAULT := delay=MS | drop | lost | fail=CAUSE | separate=MS | code=C.DD | rst | empty | badjson | noresult
 * ```
 * Rejected alternative: a JSON fault file. The one-line grammar fits a command line and a test
 * line alike and is checked when the server starts, with a message naming the bad part.
 */
import { assertNever, type Parsed } from '@msgin5g/core';
import { parseCoapCode, type ServerOperation } from '@msgin5g/protocol';

/** The `messageType`s a fault can name: REG and DEREG (§4), MSG and IMDN (§5.4). */
export type FaultOperation = ServerOperation | 'MSG' | 'IMDN';
const FAULT_OPERATIONS: readonly FaultOperation[] = ['REG', 'DEREG', 'MSG', 'IMDN'];

/** One way of misbehaving, applied to one request. */
export type Fault =
  /** Process the request MS ms after it arrived (retransmitted copies meanwhile are absorbed), then answer piggybacked. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Never answer: no ACK, no response, retransmissions ignored too (a stopped process, a black hole). Registry unchanged. */
  | { readonly kind: 'drop' }
  /**
   * Do the operation, then send nothing: the answer is lost on its way back (or the gateway died
   * right after it arrived, case C09). Retransmitted copies are swallowed too. Registry changed.
   */
  | { readonly kind: 'lost' }
  /** Answer 2.04 `{"result":"FAILURE","failureCause":CAUSE}`. Registry unchanged. */
  | { readonly kind: 'fail'; readonly failureCause: string }
  /** Empty ACK at once, then the normal answer as a separate CON response after MS ms (RFC 7252 §5.2.2). */
  | { readonly kind: 'separate'; readonly ms: number }
  /** Answer with this 4.xx/5.xx code and no body; 5.03 carries Max-Age 30. Registry unchanged. */
  | { readonly kind: 'code'; readonly code: string }
  /** Answer the CON with an RST (`70 00 <mid>`). Registry unchanged. */
  | { readonly kind: 'rst' }
  /** Do the operation, answer 2.04 with no payload. */
  | { readonly kind: 'empty' }
  /** Do the operation, answer 2.04 Content-Format 50 with the payload `{not json`. */
  | { readonly kind: 'badjson' }
  /** Do the operation, answer 2.04 with JSON that has no `result`. */
  | { readonly kind: 'noresult' };

export type FaultKind = Fault['kind'];

/** A fault and where it applies. */
export interface FaultSpec {
  readonly fault: Fault;
  /** Only requests with this `messageType`; absent: REG and DEREG (a MSG or IMDN is faulted only when named). */
  readonly operation?: FaultOperation;
  /** Only the next `count` matching requests; absent: every one. */
  readonly count?: number;
}

/** Help text of the grammar, shown by `--help`. */
export const FAULT_GRAMMAR_HELP = `Faults (--fault SPEC, repeatable; the first matching SPEC applies to a request):
  SPEC := FAULT[@REG|@DEREG|@MSG|@IMDN][*N]
                @OP: only that messageType (without @OP: REG and DEREG); *N: only the next N matching requests
  delay=MS      process the request MS ms late, then answer piggybacked (copies meanwhile absorbed)
  drop          never answer: no ACK, no response (registry unchanged)
  lost          do the operation, then never answer (registry changed; the answer is lost)
  fail=CAUSE    2.04 {"result":"FAILURE","failureCause":CAUSE} (registry unchanged)
  separate=MS   empty ACK at once, then the answer as a separate CON response after MS ms
  code=C.DD     that 4.xx/5.xx code, no body; 5.03 carries Max-Age 30 (registry unchanged)
  rst           answer the CON with an RST (registry unchanged)
  empty         do the operation, answer 2.04 with no payload
  badjson       do the operation, answer 2.04 with the payload {not json
  noresult      do the operation, answer 2.04 JSON without "result"
  For @MSG and @IMDN the operation is routing the message; fail=CAUSE answers MSGRESP DELY_FAILED
  (IMDN: result FAILURE) with CAUSE, and noresult leaves out "status" (IMDN: "result").
  Faults apply only to well-formed MSGin5G-1 requests (POST /msgin5g, Content-Format 50, valid body).
  Examples: --fault 'drop@DEREG*1'  --fault delay=10000  --fault 'code=5.03*2'  --fault fail=QUOTA_EXCEEDED@REG  --fault 'code=5.03@MSG*1'`;

/** Largest delay, ms (10 minutes): longer is a test bug, not a fault. */
export const MAX_FAULT_DELAY_MS = 600_000;
const MAX_COUNT = 1_000_000;
const MAX_CAUSE_CHARS = 200;
const SPEC_SHAPE = /^([a-z]+)(?:=([^@*]*))?(?:@([A-Za-z]+))?(?:\*([0-9]+))?$/;

/** Parses one SPEC (see the module doc). Never throws; the error names the bad part. */
export function parseFaultSpec(text: string): Parsed<FaultSpec> {
  const bad = (why: string): Parsed<FaultSpec> => ({ ok: false, error: `fault ${JSON.stringify(text)}: ${why}` });
  const m = SPEC_SHAPE.exec(typeof text === 'string' ? text.trim() : '');
  if (m === null) return bad('expected FAULT[=ARG][@REG|@DEREG|@MSG|@IMDN][*N], e.g. drop@DEREG*1');
  const [, name = '', arg, op, n] = m;
  const fault = parseFault(name, arg);
  if (!fault.ok) return bad(fault.error);
  let operation: FaultOperation | undefined;
  if (op !== undefined) {
    if (!(FAULT_OPERATIONS as readonly string[]).includes(op)) return bad(`@${op}: the operation must be REG, DEREG, MSG or IMDN`);
    operation = op as FaultOperation;
  }
  let count: number | undefined;
  if (n !== undefined) {
    count = Number(n);
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_COUNT) return bad(`*${n}: N must be 1..${MAX_COUNT}`);
  }
  const spec: { fault: Fault; operation?: FaultOperation; count?: number } = { fault: fault.value };
  if (operation !== undefined) spec.operation = operation;
  if (count !== undefined) spec.count = count;
  return { ok: true, value: spec };
}

/** The SPEC text of a spec (inverse of {@link parseFaultSpec}), for logs. */
export function formatFaultSpec(spec: FaultSpec): string {
  return `${formatFault(spec.fault)}${spec.operation === undefined ? '' : `@${spec.operation}`}${spec.count === undefined ? '' : `*${spec.count}`}`;
}

/** The FAULT part of a SPEC. */
export function formatFault(fault: Fault): string {
  switch (fault.kind) {
    case 'delay':
    case 'separate':
      return `${fault.kind}=${fault.ms}`;
    case 'fail':
      return `fail=${fault.failureCause}`;
    case 'code':
      return `code=${fault.code}`;
    case 'drop':
    case 'lost':
    case 'rst':
    case 'empty':
    case 'badjson':
    case 'noresult':
      return fault.kind;
    default:
      return assertNever(fault, 'fault');
  }
}

function parseFault(name: string, arg: string | undefined): Parsed<Fault> {
  const ok = (value: Fault): Parsed<Fault> => ({ ok: true, value });
  const bad = (error: string): Parsed<Fault> => ({ ok: false, error });
  const noArg = (value: Fault): Parsed<Fault> => (arg === undefined ? ok(value) : bad(`${name} takes no argument`));
  switch (name) {
    case 'delay':
    case 'separate': {
      if (arg === undefined || !/^[0-9]{1,7}$/.test(arg)) return bad(`${name}=MS needs a whole number of milliseconds`);
      const ms = Number(arg);
      if (ms > MAX_FAULT_DELAY_MS) return bad(`${name}=${arg}: at most ${MAX_FAULT_DELAY_MS} ms`);
      return ok({ kind: name, ms });
    }
    case 'fail': {
      if (arg === undefined || arg === '') return bad('fail=CAUSE needs a failure cause, e.g. fail=QUOTA_EXCEEDED');
      if (arg.length > MAX_CAUSE_CHARS || hasControlCharacter(arg)) return bad(`fail=CAUSE: 1..${MAX_CAUSE_CHARS} printable characters`);
      return ok({ kind: 'fail', failureCause: arg });
    }
    case 'code': {
      const code = arg === undefined ? undefined : parseCoapCode(arg);
      if (arg === undefined || code === undefined || (code.codeClass !== 4 && code.codeClass !== 5)) {
        return bad('code=C.DD needs a 4.xx or 5.xx response code, e.g. code=5.03');
      }
      return ok({ kind: 'code', code: arg });
    }
    case 'drop':
    case 'lost':
    case 'rst':
    case 'empty':
    case 'badjson':
    case 'noresult':
      return noArg({ kind: name });
    default:
      return bad(`unknown fault ${JSON.stringify(name)}; one of delay, drop, lost, fail, separate, code, rst, empty, badjson, noresult`);
  }
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
