import type { Registration } from '@msgin5g/core';
import { decodeDeviceRequest, decodeM5, interpretServerAnswer, decodeCoapDeviceRequest, decodeCoapDeviceBody, decodeMsgin5g1MessageRequest, decodeMsgin5g1MsgResp, interpretMessageAnswer } from '@msgin5g/protocol';
import fc from 'fast-check';
import { formatFailure, formatSummary, type FuzzReport, type TargetName } from '../src/fuzz-report';
import { DEFAULT_JSON_DEPS, type JsonDeps } from '../src/json-checker';
import { generateJsonInput } from '../src/json-inputs';
import { DEFAULT_M5_DEPS } from '../src/m5-checker';
import { generateM5Input, M5_MAX_INPUT_OCTETS, UDP_MAX_PAYLOAD_OCTETS } from '../src/m5-inputs';
import { Prng, STREAM } from '../src/prng';
import { runFuzz, SMOKE_INPUTS, splitInputs, TARGET_SHARES } from '../src/run-fuzz';
import { MisbehavingUdpLink } from './misbehaving-udp-link';

// Fixed so the test is reproducible; `pnpm fuzz --smoke` draws a fresh seed every run.
const SMOKE_SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed_2024);

const failuresOf = (report: FuzzReport, target?: TargetName) => report.targets.filter((t) => target === undefined || t.target === target).flatMap((t) => t.failures);
const checksOf = (report: FuzzReport, target?: TargetName) => new Set(failuresOf(report, target).map((f) => f.check));

describe('fuzz smoke (the CI run: 50,000 inputs)', () => {
  let report: FuzzReport;

  beforeAll(async () => {
    report = await runFuzz({ inputs: SMOKE_INPUTS, seed: SMOKE_SEED });
  }, 180_000);

  it('finds no failure', () => {
    expect(failuresOf(report).map(formatFailure)).toEqual([]);
    expect(report.totalFailures).toBe(0);
  });

  it('runs at least 50,000 inputs, split over every target as documented', () => {
    expect(report.totalInputs).toBeGreaterThanOrEqual(50_000);
    expect(report.targets.map((t) => t.target)).toEqual(['m5', 'json', 'udp-link']);
    const split = splitInputs(SMOKE_INPUTS, ['m5', 'json', 'udp-link']);
    for (const t of report.targets) expect(t.inputs).toBe(split.get(t.target));
  });

  it('exercises both sides of every target', () => {
    const [m5, json, udp] = report.targets;
    expect(m5?.accepted).toBeGreaterThan(1000);
    expect(m5?.protocolErrors).toBeGreaterThan(1000);
    expect(m5?.answered).toBeGreaterThan(1000);
    expect(json?.accepted).toBeGreaterThan(1000);
    expect(json?.protocolErrors).toBeGreaterThan(1000);
    // every UDP input was an invalid unit; all but the empty ones were answered, none reached the core
    expect(udp?.protocolErrors).toBe(udp?.inputs);
    expect(udp?.accepted).toBe(0);
    expect(udp?.answered).toBeGreaterThan((udp?.inputs ?? 0) * 0.9);
    expect(udp?.maxAnswerOctets).toBeLessThanOrEqual(21); // a MESSAGE SENDING RESPONSE failure echoing a Message ID (docs/wire-formats.md §2, version 2)
  });

  it('prints the summary table ending in the fuzz line', () => {
    const lines = formatSummary(report).split('\n');
    expect(lines.at(-1)).toBe(`fuzz: ${report.totalInputs} inputs, 0 failures`);
    expect(lines.some((l) => l.startsWith('udp-link'))).toBe(true);
  });
});

describe('the checks can fail', () => {
  it('reports a throwing M5 decoder as THROW, with seed, index and input to replay it', async () => {
    const decodeM5ThrowingOn7 = (b: Uint8Array) => {
      if (b.length === 7) throw new TypeError('boom');
      return decodeM5(b);
    };
    const report = await runFuzz({ inputs: 3000, seed: 7, targets: ['m5'], m5Deps: { ...DEFAULT_M5_DEPS, decodeM5: decodeM5ThrowingOn7 } });
    const [first] = failuresOf(report);
    expect(first).toMatchObject({ target: 'm5', check: 'THROW', seed: 7 });
    expect(first?.detail).toContain('TypeError: boom');
    expect(first?.input?.length).toBe(7);
    expect(formatFailure(first!)).toContain(`--seed 7 --index ${first?.index}`);

    // the printed seed and index regenerate the same input, and the hex replays it
    const again = await runFuzz({ seed: 7, targets: ['m5'], index: first!.index!, m5Deps: { ...DEFAULT_M5_DEPS, decodeM5: decodeM5ThrowingOn7 } });
    expect(failuresOf(again)[0]?.input).toEqual(first?.input);
    const replayed = await runFuzz({ seed: 7, targets: ['m5'], replay: { bytes: first!.input! }, m5Deps: { ...DEFAULT_M5_DEPS, decodeM5: decodeM5ThrowingOn7 } });
    expect(replayed.totalFailures).toBe(1);
    const clean = await runFuzz({ seed: 7, targets: ['m5'], replay: { bytes: first!.input! } });
    expect(clean.totalFailures).toBe(0);
  });

  it('reports a decoder that writes into its input as STATE', async () => {
    const report = await runFuzz({
      inputs: 500,
      seed: 1,
      targets: ['m5'],
      m5Deps: {
        ...DEFAULT_M5_DEPS,
        decodeDeviceRequest: (b) => {
          if (b.length > 3) b[2] = (b[2] as number) ^ 0xff;
          return decodeDeviceRequest(b);
        },
      },
    });
    expect(checksOf(report)).toContain('STATE');
  });

  it('reports a reject answer longer than 5 octets as AMPLIFICATION', async () => {
    const report = await runFuzz({
      inputs: 500,
      seed: 2,
      targets: ['m5'],
      m5Deps: { ...DEFAULT_M5_DEPS, decodeDeviceRequest: (b) => (b.length === 1 ? { kind: 'REJECT', answer: new Uint8Array(40), detail: 'x' } : decodeDeviceRequest(b)) },
    });
    expect(checksOf(report)).toEqual(new Set(['AMPLIFICATION']));
  });

  it('reports heap growth over the bound as MEMORY', async () => {
    const kept: unknown[] = [];
    const report = await runFuzz({
      inputs: 400,
      seed: 3,
      targets: ['m5'],
      heapBoundBytes: 2 * 1024 * 1024,
      m5Deps: {
        ...DEFAULT_M5_DEPS,
        decodeM5: (b) => {
          kept.push(Array.from({ length: 2000 }, (_, i) => ({ i }))); // ~60 KiB of heap per input, never released
          return decodeM5(b);
        },
      },
    });
    expect(kept.length).toBeGreaterThanOrEqual(400);
    expect(checksOf(report)).toEqual(new Set(['MEMORY']));
    kept.length = 0;
  });

  it('reports a throwing JSON decoder as THROW, with the code and operation to replay it', async () => {
    const report = await runFuzz({
      inputs: 2000,
      seed: 4,
      targets: ['json'],
      jsonDeps: {
        ...DEFAULT_JSON_DEPS,
        decodeCoapDeviceRequest: (b) => {
          if (b.length > 0 && b[0] === 0x7b && b.length % 5 === 0) throw new RangeError('bad body');
          return decodeCoapDeviceRequest(b);
        },
      },
    });
    const [first] = failuresOf(report);
    expect(first).toMatchObject({ target: 'json', check: 'THROW' });
    expect(formatFailure(first!)).toMatch(/--code '.*' --operation (REG|DEREG)/);
  });

  it('reports prototype pollution by a JSON decoder as STATE', async () => {
    let polluted = false;
    try {
      const report = await runFuzz({
        inputs: 200,
        seed: 5,
        targets: ['json'],
        jsonDeps: {
          ...DEFAULT_JSON_DEPS,
          decodeMsgin5g1Answer: (b) => {
            if (!polluted && b.length > 20) {
              polluted = true;
              (Object.prototype as Record<string, unknown>)['fuzzPolluted'] = true;
            }
            return DEFAULT_JSON_DEPS.decodeMsgin5g1Answer(b);
          },
        },
      });
      expect(polluted).toBe(true);
      expect(checksOf(report)).toContain('STATE');
    } finally {
      delete (Object.prototype as Record<string, unknown>)['fuzzPolluted'];
    }
  });

  it('reports a 4.xx read as success as ORACLE', async () => {
    const report = await runFuzz({
      inputs: 2000,
      seed: 6,
      targets: ['json'],
      jsonDeps: { ...DEFAULT_JSON_DEPS, interpretServerAnswer: (op, code, body) => (code.startsWith('4.') ? { kind: 'SUCCESS' } : interpretServerAnswer(op, code, body)) },
    });
    expect(checksOf(report)).toEqual(new Set(['ORACLE']));
  });

  // The message bodies of docs/wire-formats.md §5.3–§5.4: each oracle catches its own kind of bug.
  const jsonRun = (seed: number, jsonDeps: Partial<JsonDeps>, inputs = 3000) => runFuzz({ inputs, seed, targets: ['json'], jsonDeps: { ...DEFAULT_JSON_DEPS, ...jsonDeps } });

  it('reports a throwing message-request decoder as THROW', async () => {
    const report = await jsonRun(12, {
      decodeMsgin5g1MessageRequest: (b) => {
        const r = decodeMsgin5g1MessageRequest(b);
        if (r.ok && r.value.messageType === 'IMDN') throw new TypeError('IMDN boom');
        return r;
      },
    });
    expect(checksOf(report)).toEqual(new Set(['THROW']));
    expect(failuresOf(report)[0]?.detail).toContain('decodeMsgin5g1MessageRequest threw TypeError: IMDN boom');
  });

  it('reports a MSGRESP decoder that loses the failure cause as ORACLE (round trip)', async () => {
    const report = await jsonRun(13, {
      decodeMsgin5g1MsgResp: (b) => {
        const r = decodeMsgin5g1MsgResp(b);
        return r.ok && r.value.failureCause !== undefined ? { ok: true, value: { messageType: 'MSGRESP', messageId: r.value.messageId, status: r.value.status } } : r;
      },
    });
    expect(checksOf(report)).toEqual(new Set(['ORACLE']));
    expect(failuresOf(report)[0]?.detail).toMatch(/decodeMsgin5g1MsgResp: decode\(encode\(v\)\) ≠ v|interpretMessageAnswer/);
  });

  it('reports a CoAP device-link reader that refuses a valid MSG as ORACLE (it disagrees with decodeCoapDeviceDelivery)', async () => {
    const report = await jsonRun(14, {
      decodeCoapDeviceBody: (b) => {
        const r = decodeCoapDeviceBody(b);
        return r.ok && r.value.kind === 'MESSAGE_SENDING_REQUEST' && r.value.targetType === 'GROUP' ? { ok: false, error: 'no groups' } : r;
      },
    });
    expect(checksOf(report)).toEqual(new Set(['ORACLE']));
    expect(failuresOf(report)[0]?.detail).toMatch(/^decodeCoapDeviceBody gave an error, the per-type readers \{"kind":"MESSAGE_SENDING_REQUEST"/);
  });

  it('reports a MSG answer read against the §5.4 table (another msgId accepted, 4.13 not PAYLOAD_TOO_LARGE) as ORACLE', async () => {
    const ignoresMsgId = await jsonRun(15, { interpretMessageAnswer: (code, body) => interpretMessageAnswer(code, body, (decodeMsgin5g1MsgResp(body ?? new Uint8Array(0)) as { value?: { messageId: never } }).value?.messageId ?? ('0'.repeat(32) as never)) });
    expect(checksOf(ignoresMsgId)).toEqual(new Set(['ORACLE']));
    expect(failuresOf(ignoresMsgId)[0]?.detail).toMatch(/msgId another\) gave ACCEPTED/);
    const no413 = await jsonRun(16, { interpretMessageAnswer: (code, body, id) => interpretMessageAnswer(code === '4.13' ? '4.00' : code, body, id) });
    expect(checksOf(no413)).toEqual(new Set(['ORACLE']));
    expect(failuresOf(no413)[0]?.detail).toMatch(/"4\.13".*the §5\.4 table says PAYLOAD_TOO_LARGE/);
  });

  it('reports a handler that changes the store on an invalid datagram as STATE, naming the datagram', async () => {
    let inserted = 0;
    const report = await runFuzz({
      inputs: 600,
      seed: 8,
      targets: ['udp-link'],
      udpHooks: {
        wrapHandler: (core, store) => ({
          onRequest: (r, from, link) => core.onRequest(r, from, link),
          onProtocolError: (e) => {
            core.onProtocolError(e);
            if (e.octets > 1000) {
              inserted++;
              const registrationId = inserted.toString(16).padStart(4, '0');
              const bogus = { registrationId, applicationId: inserted, layer2Id: e.from, link: 'udp', ueServiceId: 'x', state: 'REGISTERED', createdAt: 0, updatedAt: 0, expiresAt: 0 } as unknown as Registration;
              void store.insert(bogus);
            }
          },
        }),
      },
    });
    const state = failuresOf(report).filter((f) => f.check === 'STATE');
    expect(inserted).toBeGreaterThan(0);
    expect(state.length).toBeGreaterThan(0);
    for (const f of state) {
      expect(f.input?.length).toBeGreaterThan(1000);
      expect(f.index).toBeDefined();
    }
  });

  it('reports a link that amplifies as AMPLIFICATION', async () => {
    const report = await runFuzz({ inputs: 300, seed: 9, targets: ['udp-link'], udpHooks: { createLink: () => new MisbehavingUdpLink('amplify') } });
    expect(checksOf(report, 'udp-link')).toEqual(new Set(['AMPLIFICATION']));
    expect(report.targets[0]?.inputs).toBe(300);
    expect(report.targets[0]?.maxAnswerOctets).toBeGreaterThan(21); // over what the real link ever answers
  });

  it('reports a link that silently drops datagrams as LIVENESS', async () => {
    const report = await runFuzz({ inputs: 2000, seed: 10, targets: ['udp-link'], udpHooks: { createLink: () => new MisbehavingUdpLink('drop-large'), batchTimeoutMs: 300 } });
    expect(checksOf(report, 'udp-link')).toEqual(new Set(['LIVENESS']));
  });
});

describe('generation', () => {
  it('regenerates the same input from the same seed and index, within the length bounds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.nat({ max: 10_000_000 }), (seed, index) => {
        const a = generateM5Input(new Prng(seed, STREAM.m5, index));
        expect(generateM5Input(new Prng(seed, STREAM.m5, index))).toEqual(a);
        expect(a.length).toBeLessThanOrEqual(M5_MAX_INPUT_OCTETS);
        expect(generateM5Input(new Prng(seed, STREAM['udp-link'], index), UDP_MAX_PAYLOAD_OCTETS).length).toBeLessThanOrEqual(UDP_MAX_PAYLOAD_OCTETS);
        const j = generateJsonInput(new Prng(seed, STREAM.json, index));
        expect(generateJsonInput(new Prng(seed, STREAM.json, index))).toEqual(j);
      }),
      { numRuns: 100 },
    );
  });

  it('json: every decoder accepts some bodies and refuses others (the message bodies and the REG with notifyUri included); valid bodies reach exactly 4,096 octets', () => {
    const decoders = Object.keys(DEFAULT_JSON_DEPS).filter((n) => n.startsWith('decode')) as Array<keyof JsonDeps>;
    const accepted = new Map<string, number>();
    const refused = new Map<string, number>();
    let notifyUri = 0;
    const validNearLimit = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const { body } = generateJsonInput(new Prng(17, STREAM.json, i));
      for (const name of decoders) {
        const r = (DEFAULT_JSON_DEPS[name] as (b: Uint8Array) => { ok: boolean; value?: { notifyUri?: string } })(body);
        (r.ok ? accepted : refused).set(name, ((r.ok ? accepted : refused).get(name) ?? 0) + 1);
        if (r.ok && name === 'decodeMsgin5g1Request' && r.value?.notifyUri !== undefined) notifyUri++;
      }
      if (body.length >= 4090 && body.length <= 4096 && decoders.some((n) => (DEFAULT_JSON_DEPS[n] as (b: Uint8Array) => { ok: boolean })(body).ok)) validNearLimit.add(body.length);
    }
    expect(decoders.filter((n) => (accepted.get(n) ?? 0) <= 20)).toEqual([]);
    expect(decoders.filter((n) => (refused.get(n) ?? 0) <= 1000)).toEqual([]);
    expect(notifyUri).toBeGreaterThan(10);
    expect(validNearLimit).toContain(4096);
  });

  it('covers the boundary lengths 0..4 and the largest UDP payload', () => {
    const lengths = new Set<number>();
    for (let i = 0; i < 20_000; i++) lengths.add(generateM5Input(new Prng(11, STREAM.m5, i)).length);
    for (const n of [0, 1, 2, 3, 4, 17, 18, 255, 256, 257, 65_507, 65_535, 70_000]) expect(lengths).toContain(n);
  });

  it('splits any budget over any targets exactly, by the documented shares', () => {
    const all: TargetName[] = ['m5', 'json', 'udp-link'];
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), fc.subarray(all, { minLength: 1 }), (total, targets) => {
        const split = splitInputs(total, targets);
        expect([...split.values()].reduce((s, n) => s + n, 0)).toBe(total);
        expect([...split.keys()]).toEqual(targets);
      }),
    );
    expect(TARGET_SHARES['m5'] + TARGET_SHARES['json'] + TARGET_SHARES['udp-link']).toBeCloseTo(1);
  });
});
