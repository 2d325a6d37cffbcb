/** The 4.00 diagnostic of the CoAP device link (docs/wire-formats.md §3.3): bounded, and cut only between words. */
import fc from 'fast-check';
import { FALLBACK_DIAGNOSTIC, MAX_DIAGNOSTIC_CHARS, clipDiagnostic, coapDeviceDiagnostic, decodeCoapDeviceRequest, encodeCoapDeviceDiagnostic } from '@msgin5g/protocol';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const PREFIX = 'CoAP device request: ';

/**
 * Whether `diagnostic` is `full` itself, or whole words of it then `…`: a non-empty prefix of `full`
 * that does not end in a separator and after which `full` goes on with a separator (space or clause
 * punctuation), never with the rest of a word.
 */
function endsAtWholeWord(diagnostic: string, full: string): boolean {
  if (diagnostic === full) return true;
  if (diagnostic === FALLBACK_DIAGNOSTIC) return true;
  if (!diagnostic.endsWith('…')) return false;
  const words = diagnostic.slice(0, -1);
  return words.length > 0 && full.startsWith(words) && !' ,;:'.includes(words.at(-1) as string) && ' ,;:'.includes(full[words.length] as string);
}

describe('coapDeviceDiagnostic', () => {
  const payloadOf = (text: string): string => new TextDecoder().decode(encodeCoapDeviceDiagnostic(text));
  const within = (chars: number) => (t: string) => t.length <= chars;

  it('drops the decoder prefix and leaves a text that fits untouched', () => {
    expect(coapDeviceDiagnostic(`${PREFIX}member "appId" is missing`, 100)).toBe('member "appId" is missing');
    expect(payloadOf('member "appId" is missing')).toBe('{"error":"member \\"appId\\" is missing"}');
  });

  it('keeps at most 80 characters, cut between words with …, preferring the end of a clause', () => {
    const error = `${PREFIX}member "registrationId" must be 2..32 hex digits (1..16 octets), got the string "xyz0"`;
    expect(coapDeviceDiagnostic(error)).toBe('member "registrationId" must be 2..32 hex digits (1..16 octets)…');
    const long = `${PREFIX}member "appId" must be a decimal string "0".."65535", got a string of 41 characters`;
    expect(coapDeviceDiagnostic(long)).toBe('member "appId" must be a decimal string "0".."65535"…');
  });

  it('keeps the payload within the octets allowed, counting JSON escapes and UTF-8', () => {
    const error = `${PREFIX}member "registrationId" must be 2..32 hex digits (1..16 octets), got the string "xyz0"`;
    const d = coapDeviceDiagnostic(error, 60);
    expect(d).toBe('member "registrationId" must be 2..32 hex…');
    expect(encodeCoapDeviceDiagnostic(d).length).toBeLessThanOrEqual(60);
    expect(encodeCoapDeviceDiagnostic(coapDeviceDiagnostic(error, 61)).length).toBeLessThanOrEqual(61);
    // 'é' is 2 octets, '😀' 4: a budget in octets cuts earlier than one in characters would.
    expect(coapDeviceDiagnostic('unknown member "éééé" in a REG', 12 + 28)).toBe('unknown member…');
  });

  it('never leaves half a word: the old cut at the limit gave `…"aaaa…` inside a member name', () => {
    expect(clipDiagnostic('unknown member "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" in a REG', within(40))).toBe('unknown member…');
    expect(clipDiagnostic('member "appId" must be an integer 0..65535, got a number (42.5)', within(32))).toBe('member "appId" must be an…');
  });

  it('prefers a clause end only when it keeps more than half of the longest cut', () => {
    expect(clipDiagnostic('body is not JSON (Unexpected token \'h\', "hello" is not valid JSON)', within(32))).toBe('body is not JSON…');
    expect(clipDiagnostic('ab, cdefgh ijklmnopqrstu vwxyz and more words here', within(30))).toBe('ab, cdefgh ijklmnopqrstu…');
  });

  it('falls back to a fixed text, then …, then nothing, when not even one word fits', () => {
    expect(clipDiagnostic('x'.repeat(100), within(32))).toBe(FALLBACK_DIAGNOSTIC);
    expect(clipDiagnostic('x'.repeat(100), within(3))).toBe('…');
    expect(clipDiagnostic('x'.repeat(100), within(0))).toBe('');
  });

  it('property: for random bad bodies and octet budgets the diagnostic is at most 80 characters, its payload within the budget, and it ends at a whole word', () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '"', ',', '.', '(', 'é', '😀', '\\', ':'), maxLength: 70 });
    const json: fc.Arbitrary<unknown> = fc.oneof(
      word,
      fc.string({ unit: 'binary', maxLength: 50 }),
      fc.integer({ min: -100_000, max: 100_000 }),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.constant({}),
    );
    const object = fc.record(
      {
        messageType: fc.oneof(fc.constantFrom('REG', 'DEREG', 'reg', 'SEND'), json),
        appId: fc.oneof(fc.integer({ min: -5, max: 70_000 }).map(String), fc.constantFrom('042', '4.2', '', ' 42'), json),
        registrationId: fc.oneof(fc.string({ unit: fc.constantFrom('0', '9', 'a', 'F', 'g'), maxLength: 40 }), json),
        extra: json,
      },
      { requiredKeys: [] },
    );
    const renamed = fc.tuple(object, fc.option(word, { nil: undefined }), fc.boolean()).map(([o, name, keepExtra]) => {
      const copy: Record<string, unknown> = { ...o };
      if (name !== undefined && 'extra' in copy) copy[name] = copy['extra'];
      if (name !== undefined || !keepExtra) delete copy['extra'];
      return utf8(JSON.stringify(copy));
    });
    const body = fc.oneof(
      renamed,
      json.map((v) => utf8(JSON.stringify(v) ?? 'undefined')),
      word.map(utf8),
      fc.uint8Array({ maxLength: 120 }),
    );
    let refused = 0;
    let cut = 0;
    // The link allows request octets + 40 − 19 − token (header, Content-Format, marker, JSON wrapper): at least 25.
    const budget = fc.integer({ min: 25, max: 200 });
    fc.assert(
      fc.property(body, budget, (b, maxOctets) => {
        const r = decodeCoapDeviceRequest(b);
        if (r.ok) return;
        refused += 1;
        const full = r.error.startsWith(PREFIX) ? r.error.slice(PREFIX.length) : r.error;
        const d = coapDeviceDiagnostic(r.error, maxOctets);
        if (d !== full) cut += 1;
        expect(d.length).toBeLessThanOrEqual(MAX_DIAGNOSTIC_CHARS);
        expect(encodeCoapDeviceDiagnostic(d).length).toBeLessThanOrEqual(maxOctets);
        expect({ d, full, whole: endsAtWholeWord(d, full) }).toEqual({ d, full, whole: true });
      }),
      { numRuns: 3000, seed: 0x400 },
    );
    // The property must have had something to check: many refusals, and cuts among them.
    expect(refused).toBeGreaterThan(2000);
    expect(cut).toBeGreaterThan(200);
  });
});
