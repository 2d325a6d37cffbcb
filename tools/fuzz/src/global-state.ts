/**
 * A fingerprint of the process-wide state a decoder could change by accident: the own property
 * names of the built-in prototypes JSON and byte handling touch (prototype pollution through
 * `__proto__` members, a patched `Uint8Array.prototype`, …).
 *
 * Rejected alternative: freezing the prototypes for the run. A polluting decoder would then throw
 * (strict code) or silently do nothing (sloppy code) instead of being reported, and frozen
 * built-ins change the behaviour of the code under test.
 */
const WATCHED: ReadonlyArray<readonly [string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['String.prototype', String.prototype],
  ['Function.prototype', Function.prototype],
  ['Uint8Array.prototype', Uint8Array.prototype],
  ['Object.getPrototypeOf(Uint8Array.prototype)', Object.getPrototypeOf(Uint8Array.prototype) as object],
  ['JSON', JSON],
];

/** One string naming every own property (and its value's type) of the watched objects. */
export function globalStateFingerprint(): string {
  let s = '';
  for (const [name, obj] of WATCHED) {
    s += `${name}:`;
    for (const key of Reflect.ownKeys(obj)) {
      const d = Object.getOwnPropertyDescriptor(obj, key);
      s += `${String(key)}=${d === undefined ? '?' : 'value' in d ? typeof d.value : 'accessor'},`;
    }
    s += `|proto=${String(Object.getPrototypeOf(obj) === null)};`;
  }
  return s;
}

/**
 * Cheap per-input probe: whether a plain object, an array or a byte array has gained an enumerable
 * inherited property (the usual sign of prototype pollution). The full
 * {@link globalStateFingerprint} is compared less often.
 */
export function prototypesClean(): boolean {
  for (const _ in {}) return false;
  for (const _ in []) return false;
  for (const _ in new Uint8Array(0)) return false;
  return true;
}
