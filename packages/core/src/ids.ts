/**
 * Branded identifiers of the MSGin5G Gateway UE domain.
 *
 * Each id is a plain string or number at run time; the brand only stops one kind of id from being
 * passed where another is expected. Values are built only by the `parse…()` functions below, which
 * return a {@link Parsed} value instead of throwing, because ids arrive from network peers.
 *
 * @see ../../../docs/adr/0004-provisional-code-points.md for the provisional forms.
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Application ID of an Application Client: unsigned 16-bit (TS 24.538 Annex A.2, TV 2-octet value). */
export type ApplicationId = Brand<number, 'ApplicationId'>;
/**
 * Registration ID allocated by the Gateway UE at registration (seed CR, TS 24.538 6.3.2.1.2):
 * 1..16 octets, written as 2..32 lower-case hex characters. The gateway allocates 8 octets.
 */
export type RegistrationId = Brand<string, 'RegistrationId'>;
/**
 * Layer-2 ID of a constrained device: its link address. A MAC on the L2 link (12 lower-case hex
 * characters, `02000000aa01`) or the source transport address on the UDP/CoAP links
 * (`192.0.2.7:40000`, `[2001:db8::7]:40000`).
 */
export type Layer2Id = Brand<string, 'Layer2Id'>;
/** UE Service ID used toward the MSGin5G Server (TS 23.554 §8.2.1). */
export type UeServiceId = Brand<string, 'UeServiceId'>;

/**
 * Kind of a device link: `udp` (M5 binary over UDP), `l2` (Ethernet), `coap` (Annex A.3 style),
 * `serial` (SLIP over a UART), or any kind a link package brings. The set is open: a kind is a name
 * that {@link parseLinkKind} accepts, declared by the link package's descriptor
 * (docs/adding-a-device-link.md). Adapters state their kind; the core never switches on it.
 */
export type LinkKind = string;
/**
 * One running device link instance: what a request came in on, what the store records in a
 * registration's `link`, and what its answers leave through (also after a restart). The first
 * instance of a kind is named by the kind (`udp`); more get a configured name or `udp-2`, `udp-3`….
 * Same syntax as {@link LinkKind}. Built only by {@link parseLinkId}.
 */
export type LinkId = Brand<string, 'LinkId'>;

/** Syntax of link kinds and link instance ids: a lower-case letter, then up to 31 of `a-z 0-9 -`. */
export const LINK_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** Validates a link kind (`serial`); see {@link LINK_NAME_PATTERN}. */
export function parseLinkKind(input: string): Parsed<LinkKind> {
  if (typeof input !== 'string' || !LINK_NAME_PATTERN.test(input)) {
    return bad(`link kind must be a lower-case letter then up to 31 of a-z, 0-9, "-" (such as "serial"), got ${JSON.stringify(input)}`);
  }
  return ok(input);
}

/** Validates a link instance id (`udp`, `udp-2`, `serial-lab`); see {@link LINK_NAME_PATTERN}. */
export function parseLinkId(input: string): Parsed<LinkId> {
  if (typeof input !== 'string' || !LINK_NAME_PATTERN.test(input)) {
    return bad(`link name must be a lower-case letter then up to 31 of a-z, 0-9, "-" (such as "udp-2"), got ${JSON.stringify(input)}`);
  }
  return ok(input as LinkId);
}

/** Outcome of a `parse…()` call. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** Largest Application ID (2-octet value). */
export const MAX_APPLICATION_ID = 0xffff;
/** Registration ID length limits in octets (docs/wire-formats.md §2: decoder accepts 1..16). */
export const REGISTRATION_ID_MIN_OCTETS = 1;
export const REGISTRATION_ID_MAX_OCTETS = 16;

/**
 * Parses an Application ID from a number or a decimal string (`"42"`, the JSON form).
 * Accepts integers 0..65535 only.
 */
export function parseApplicationId(input: number | string): Parsed<ApplicationId> {
  let n: number;
  if (typeof input === 'string') {
    if (!/^(0|[1-9][0-9]{0,4})$/.test(input)) return bad(`Application ID must be a decimal integer 0..65535, got ${JSON.stringify(input)}`);
    n = Number(input);
  } else {
    n = input;
  }
  if (!Number.isInteger(n) || n < 0 || n > MAX_APPLICATION_ID) {
    return bad(`Application ID must be an integer 0..65535, got ${String(input)}`);
  }
  return ok(n as ApplicationId);
}

/** Parses a Registration ID from its hex form (2..32 hex characters, even length; case-insensitive). */
export function parseRegistrationId(input: string): Parsed<RegistrationId> {
  if (typeof input !== 'string' || !/^([0-9a-fA-F]{2}){1,16}$/.test(input)) {
    return bad(`Registration ID must be 1..16 octets as hex (2..32 hex characters), got ${JSON.stringify(input)}`);
  }
  return ok(input.toLowerCase() as RegistrationId);
}

/** Builds a Registration ID from its octets (1..16). */
export function registrationIdFromOctets(octets: Uint8Array): Parsed<RegistrationId> {
  if (octets.length < REGISTRATION_ID_MIN_OCTETS || octets.length > REGISTRATION_ID_MAX_OCTETS) {
    return bad(`Registration ID must be 1..16 octets, got ${octets.length}`);
  }
  let hex = '';
  for (const b of octets) hex += b.toString(16).padStart(2, '0');
  return ok(hex as RegistrationId);
}

/** The octets of a Registration ID. */
export function registrationIdOctets(id: RegistrationId): Uint8Array {
  const out = new Uint8Array(id.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(id.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const MAC_HEX = /^[0-9a-f]{12}$/;
const MAC_COLON = /^([0-9a-f]{2})([:-][0-9a-f]{2}){5}$/;

/** Parses a MAC Layer-2 ID: `02:00:00:00:00:aa`, `02-00-…` or `0200000000aa`; canonical form is 12 lower-case hex characters. */
export function parseMacLayer2Id(input: string): Parsed<Layer2Id> {
  const s = String(input).toLowerCase();
  if (MAC_HEX.test(s)) return ok(s as Layer2Id);
  if (MAC_COLON.test(s)) return ok(s.replace(/[:-]/g, '') as Layer2Id);
  return bad(`MAC Layer-2 ID must be 6 octets (02:00:00:00:00:aa), got ${JSON.stringify(input)}`);
}

/**
 * Builds the Layer-2 ID of a device on a UDP-based link from its source address and port.
 * IPv6 addresses are bracketed: `[::1]:40000`.
 */
export function transportLayer2Id(address: string, port: number): Parsed<Layer2Id> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return bad(`port must be 1..65535, got ${port}`);
  if (!address || /[\s[\]]/.test(address)) return bad(`bad address ${JSON.stringify(address)}`);
  const host = address.includes(':') ? `[${address.toLowerCase()}]` : address;
  return ok(`${host}:${port}` as Layer2Id);
}

/** Parses a transport Layer-2 ID (`192.0.2.7:40000`, `[::1]:40000`) back into address and port. */
export function parseTransportLayer2Id(input: string): Parsed<{ address: string; port: number; layer2Id: Layer2Id }> {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|[A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(String(input));
  if (!m) return bad(`transport Layer-2 ID must be ip:port or [ipv6]:port, got ${JSON.stringify(input)}`);
  const address = (m[1] ?? m[2]) as string;
  const id = transportLayer2Id(address, Number(m[3]));
  if (!id.ok) return bad(id.error);
  return ok({ address: address.toLowerCase(), port: Number(m[3]), layer2Id: id.value });
}

/** Parses a UE Service ID: 1..256 printable characters. */
export function parseUeServiceId(input: string): Parsed<UeServiceId> {
  if (typeof input !== 'string' || input.length < 1 || input.length > 256 || hasControlCharacter(input)) {
    return bad(`UE Service ID must be 1..256 printable characters, got ${JSON.stringify(input)}`);
  }
  return ok(input as UeServiceId);
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Unwraps a {@link Parsed} value; throws `TypeError` with the parse error. For trusted inputs (config, tests). */
export function must<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new TypeError(parsed.error);
  return parsed.value;
}

/**
 * Default UE Service ID of a device registered through the gateway, when the authorization list
 * names none: `<gatewayUeServiceId>/<Layer-2 ID>/<Application ID>` (docs/wire-formats.md §1, provisional).
 */
export function defaultDeviceUeServiceId(gateway: UeServiceId, layer2Id: Layer2Id, applicationId: ApplicationId): UeServiceId {
  return `${gateway}/${layer2Id}/${applicationId}` as UeServiceId;
}
