import {
  M5ProtocolError,
  decodeCoapDeviceRequest,
  decodeCoapDeviceResponse,
  decodeDeviceRequest,
  decodeM5,
  decodeMsgin5g1Answer,
  decodeMsgin5g1Request,
  encodeCoapDeviceRequest,
  encodeCoapDeviceResponse,
  encodeM5,
  encodeMsgin5g1Answer,
  encodeMsgin5g1Request,
  interpretServerAnswer,
} from '@msgin5g/protocol';
import fc from 'fast-check';
import {
  NUM_RUNS,
  deviceRequest,
  deviceResponse,
  hostileBody,
  m5Message,
  msgin5g1Answer,
  msgin5g1Request,
  mutatedM5,
  randomM5,
  serverOperation,
} from './arbitraries';

const run = { numRuns: NUM_RUNS };
const anyM5Input = fc.oneof(randomM5, mutatedM5);

describe('M5 binary properties', () => {
  it('decodeM5(encodeM5(x)) equals x for every kind of valid message', () => {
    fc.assert(
      fc.property(m5Message, (m) => {
        expect(decodeM5(encodeM5(m))).toEqual({ ok: true, message: m });
      }),
      run,
    );
  });

  it('decodeM5 never throws, and only ever reports an M5ProtocolError', () => {
    fc.assert(
      fc.property(anyM5Input, (b) => {
        const r = decodeM5(b);
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(M5ProtocolError);
          expect(['EMPTY', 'UNKNOWN_MESSAGE_TYPE', 'MALFORMED']).toContain(r.error.reason);
        } else {
          // whatever decodes re-encodes into something that decodes to the same meaning
          expect(decodeM5(encodeM5(r.message))).toEqual(r);
        }
      }),
      run,
    );
  });

  it('decodeDeviceRequest never throws; a REJECT answer is well-formed and never amplifies (≤ max(len, 5) + 3 octets)', () => {
    fc.assert(
      fc.property(anyM5Input, (b) => {
        const r = decodeDeviceRequest(b);
        switch (r.kind) {
          case 'REQUEST':
            expect(decodeM5(encodeM5(r.request))).toEqual({ ok: true, message: r.request });
            break;
          case 'REJECT':
            if (r.answer === null) {
              expect(b.length).toBe(0);
            } else {
              expect(r.answer.length).toBeLessThanOrEqual(Math.max(b.length, 5) + 3);
              expect(r.answer.length).toBeLessThanOrEqual(5); // what the reject table actually sends
              expect(decodeM5(r.answer).ok).toBe(true);
            }
            break;
        }
      }),
      run,
    );
  });
});

describe('JSON body properties', () => {
  it('MSGin5G-1 request round trip', () => {
    fc.assert(
      fc.property(msgin5g1Request, (r) => {
        expect(decodeMsgin5g1Request(encodeMsgin5g1Request(r))).toEqual({ ok: true, value: r });
      }),
      run,
    );
  });

  it('MSGin5G-1 answer round trip', () => {
    fc.assert(
      fc.property(msgin5g1Answer, (a) => {
        expect(decodeMsgin5g1Answer(encodeMsgin5g1Answer(a))).toEqual({ ok: true, value: a });
      }),
      run,
    );
  });

  it('CoAP device request and response round trip', () => {
    fc.assert(
      fc.property(deviceRequest, deviceResponse, (req, res) => {
        expect(decodeCoapDeviceRequest(encodeCoapDeviceRequest(req))).toEqual({ ok: true, value: req });
        expect(decodeCoapDeviceResponse(encodeCoapDeviceResponse(res))).toEqual({ ok: true, value: res });
      }),
      run,
    );
  });

  it('the JSON decoders never throw and always say why they refuse', () => {
    const decoders = [decodeCoapDeviceRequest, decodeCoapDeviceResponse, decodeMsgin5g1Request, decodeMsgin5g1Answer];
    fc.assert(
      fc.property(hostileBody, (body) => {
        for (const decode of decoders) {
          const r = decode(body);
          if (!r.ok) {
            expect(typeof r.error).toBe('string');
            expect(r.error.length).toBeGreaterThan(0);
            expect(r.error.length).toBeLessThan(400);
          }
        }
      }),
      run,
    );
  });

  it('interpretServerAnswer never throws and never reads a non-2.xx answer as success', () => {
    const code = fc.oneof(
      fc.constantFrom('RST', 'TIMEOUT', 'NETWORK_ERROR', '0.00', '2.04', '2.05', '4.04', '5.03', '2.4', ''),
      fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 99 })).map(([c, d]) => `${c}.${String(d).padStart(2, '0')}`),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(serverOperation, code, fc.option(hostileBody, { nil: undefined }), (op, c, body) => {
        const outcome = interpretServerAnswer(op, c, body);
        if (outcome.kind === 'SUCCESS') expect(c.startsWith('2.')).toBe(true);
        else expect(outcome.cause.length).toBeGreaterThan(0);
      }),
      run,
    );
  });
});
