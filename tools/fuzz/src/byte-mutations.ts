/**
 * Format-blind mutations of a valid message: bit flips, interesting octets, truncation, extension,
 * insertion, deletion, duplication of a slice, length-field tweaks and dictionary tokens. The
 * format-aware mutations (M5 IEs, JSON members) live with each generator.
 * Rejected alternative: fast-check's `uint8Array` with `map` for damage, as the protocol package's
 * property tests do; per input it costs more than the decoding it feeds.
 */
import type { Prng } from './prng';

/** What a mutation may use besides the input. */
export interface MutationContext {
  /** Octet values worth trying at any position (type codes, IEIs, 0x00, 0xff, …). */
  readonly interesting: readonly number[];
  /** Multi-octet tokens to insert or overwrite with (JSON punctuation, IE headers, bad UTF-8). */
  readonly tokens: readonly Uint8Array[];
  /** Longest output; longer results are cut. */
  readonly maxOctets: number;
}

const MUTATION_WEIGHTS = [
  4, // 0 flip 1..3 bits
  3, // 1 set an interesting octet
  2, // 2 set a random octet
  3, // 3 truncate
  2, // 4 extend with random octets
  2, // 5 insert a random run
  2, // 6 delete a slice
  2, // 7 duplicate a slice
  3, // 8 length-field tweak: an octet set to the number of octets after it, ±2
  2, // 9 insert a token
  1, // 10 overwrite with a token
  1, // 11 swap two octets
];

/** One random mutation of `input` (never modified); the result may be empty. */
export function mutateOnce(rng: Prng, input: Uint8Array, ctx: MutationContext): Uint8Array {
  const n = input.length;
  const op = rng.weighted(MUTATION_WEIGHTS);
  if (n === 0 && op !== 4 && op !== 5 && op !== 9) return rng.bytes(rng.between(1, 4));
  switch (op) {
    case 0: {
      const out = input.slice();
      const flips = rng.between(1, 3);
      for (let k = 0; k < flips; k++) {
        const p = rng.below(n);
        out[p] = (out[p] as number) ^ (1 << rng.below(8));
      }
      return out;
    }
    case 1: {
      const out = input.slice();
      out[rng.below(n)] = rng.pick(ctx.interesting);
      return out;
    }
    case 2: {
      const out = input.slice();
      out[rng.below(n)] = rng.below(256);
      return out;
    }
    case 3:
      return input.slice(0, rng.below(n));
    case 4: {
      const tail = rng.chance(0.8) ? rng.between(1, 8) : rng.between(9, 300);
      return concat(input, rng.bytes(tail), ctx.maxOctets);
    }
    case 5: {
      const at = rng.below(n + 1);
      return concat3(input.subarray(0, at), rng.bytes(rng.between(1, 6)), input.subarray(at), ctx.maxOctets);
    }
    case 6: {
      const at = rng.below(n);
      const len = rng.between(1, Math.min(8, n - at));
      return concat(input.subarray(0, at), input.subarray(at + len), ctx.maxOctets);
    }
    case 7: {
      const at = rng.below(n);
      const len = rng.between(1, Math.min(32, n - at));
      const slice = input.subarray(at, at + len);
      const copies = rng.chance(0.9) ? 1 : rng.between(2, 40);
      let out = input.subarray(0, at + len);
      for (let k = 0; k < copies; k++) out = concat(out, slice, ctx.maxOctets);
      return concat(out, input.subarray(at + len), ctx.maxOctets);
    }
    case 8: {
      const out = input.slice();
      const p = rng.below(n);
      const after = n - p - 1;
      out[p] = rng.chance(0.8) ? (after + rng.between(-2, 2)) & 0xff : rng.pick([0, 1, 15, 16, 17, 127, 128, 254, 255]);
      return out;
    }
    case 9: {
      const at = rng.below(n + 1);
      return concat3(input.subarray(0, at), rng.pick(ctx.tokens), input.subarray(at), ctx.maxOctets);
    }
    case 10: {
      const token = rng.pick(ctx.tokens);
      const out = input.slice();
      const at = rng.below(n);
      out.set(token.subarray(0, n - at), at);
      return out;
    }
    default: {
      const out = input.slice();
      const i = rng.below(n);
      const j = rng.below(n);
      const t = out[i] as number;
      out[i] = out[j] as number;
      out[j] = t;
      return out;
    }
  }
}

/** 1..`max` stacked mutations (fewer more often). */
export function mutate(rng: Prng, input: Uint8Array, ctx: MutationContext, max = 4): Uint8Array {
  const rounds = rng.chance(0.6) ? 1 : rng.between(2, max);
  let out = input;
  for (let k = 0; k < rounds; k++) out = mutateOnce(rng, out, ctx);
  return out;
}

/** `a` then `b`, cut at `max` octets. */
export function concat(a: Uint8Array, b: Uint8Array, max = Number.MAX_SAFE_INTEGER): Uint8Array {
  const len = Math.min(max, a.length + b.length);
  const out = new Uint8Array(len);
  out.set(a.subarray(0, len), 0);
  if (len > a.length) out.set(b.subarray(0, len - a.length), a.length);
  return out;
}

function concat3(a: Uint8Array, b: Uint8Array, c: Uint8Array, max: number): Uint8Array {
  return concat(concat(a, b), c, max);
}
