/**
 * Reading and writing the small JSON bodies of the CoAP device link (docs/wire-formats.md §3.3) and of
 * MSGin5G-1 (§4): UTF-8 JSON objects whose members are strings.
 *
 * `JSON.parse` and a fatal `TextDecoder` signal bad input only by throwing, so this module is the
 * one place where that is turned into a value ({@link parseJsonObject}); the body is size-checked
 * first, so a huge input costs nothing. Rejected alternative: a hand-written JSON parser that
 * returns errors as values — more code to trust for bodies that are neither on the hot path nor
 * large.
 */
import { parseApplicationId, type ApplicationId, type Parsed } from '@msgin5g/core';

/** Largest JSON body accepted, in octets. Valid bodies are under 700 octets (two 256-character UE Service IDs). */
export const MAX_JSON_BODY_OCTETS = 4096;

/** A parsed JSON object. Read members only through {@link member} (own properties only). */
export type JsonObject = { readonly [name: string]: unknown };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

/**
 * Parses a body into a JSON object. Errors (prefixed with `what`): not a byte array, empty, larger
 * than {@link MAX_JSON_BODY_OCTETS}, not UTF-8, not JSON, not an object.
 */
export function parseJsonObject(body: Uint8Array, what: string): Parsed<JsonObject> {
  if (!(body instanceof Uint8Array)) return bad(`${what}: body is not a byte array`);
  if (body.length === 0) return bad(`${what}: empty body`);
  if (body.length > MAX_JSON_BODY_OCTETS) return bad(`${what}: body of ${body.length} octets is larger than ${MAX_JSON_BODY_OCTETS}`);
  let text: string;
  try {
    text = utf8Decoder.decode(body);
  } catch {
    return bad(`${what}: body is not UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return bad(`${what}: body is not JSON (${e instanceof Error ? e.message : 'parse error'})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(`${what}: body must be a JSON object, got ${describe(value)}`);
  return ok(value as JsonObject);
}

/** UTF-8 JSON of `value` (member order as inserted). */
export function encodeJson(value: Readonly<Record<string, string | number | boolean>>): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(value));
}

/** An own member's value, or `undefined` when absent (inherited names such as `toString` are absent). */
export function member(obj: JsonObject, name: string): unknown {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

/** The first member not in `allowed`, or `undefined`. */
export function unknownMember(obj: JsonObject, allowed: ReadonlySet<string>): string | undefined {
  for (const name of Object.keys(obj)) if (!allowed.has(name)) return name;
  return undefined;
}

/**
 * Reads a required member that must be one of `values`. Error e.g.
 * `messageType must be one of "REG", "DEREG", got a number (3)`.
 */
export function readEnum<T extends string>(obj: JsonObject, name: string, values: readonly T[]): Parsed<T> {
  const v = member(obj, name);
  if (v === undefined) return bad(`member "${name}" is missing`);
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return ok(v as T);
  return bad(`member "${name}" must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`);
}

/** Reads a member that must be a string when present; `required` makes absence an error. */
export function readString(obj: JsonObject, name: string, required: boolean): Parsed<string | undefined> {
  const v = member(obj, name);
  if (v === undefined) return required ? bad(`member "${name}" is missing`) : ok(undefined);
  if (typeof v !== 'string') return bad(`member "${name}" must be a string, got ${describe(v)}`);
  return ok(v);
}

/**
 * Reads an Application ID member: a decimal string `"0"`..`"65535"` without leading zeros
 * (docs/wire-formats.md §1), and, with `numbers`, also a JSON number that is an integer 0..65535
 * (`42`, `42.0`, `4.2e1`; `-0` reads as 0). Refused, with the error text saying which form was
 * expected: `42.5`, `-1`, `70000`, `"042"`, `"4.2"`, any other type.
 */
export function readApplicationId(obj: JsonObject, name: string, required: boolean, numbers = false): Parsed<ApplicationId | undefined> {
  const v = member(obj, name);
  if (v === undefined) return required ? bad(`member "${name}" is missing`) : ok(undefined);
  if (typeof v === 'string') {
    const id = parseApplicationId(v);
    return id.ok ? id : bad(`member "${name}" must be a decimal string "0".."65535", got ${describe(v)}`);
  }
  if (numbers && typeof v === 'number') {
    const id = parseApplicationId(v === 0 ? 0 : v); // -0 → 0
    return id.ok ? id : bad(`member "${name}" must be an integer 0..65535, got ${describe(v)}`);
  }
  const expected = numbers ? 'a number or a decimal string' : 'a decimal string "0".."65535"';
  return bad(`member "${name}" must be ${expected}, got ${describe(v)}`);
}

/** Short description of a JSON value for error text, bounded in length. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return v.length > 40 ? `a string of ${v.length} characters` : `the string ${JSON.stringify(v)}`;
    case 'number':
      return `a number (${v})`;
    case 'boolean':
      return `a boolean (${v})`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}
