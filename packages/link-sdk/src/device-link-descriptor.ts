/**
 * `DeviceLinkDescriptor`: everything the gateway needs to know about a kind of device link, exported
 * by the link's own package. The gateway holds one list of descriptors (`apps/gateway/src/links.ts`)
 * and derives from it the config file's sections and `links:` entries, the `start` flags, the
 * environment variables, `--help`, authorization patterns and the wiring, so adding a link is its
 * package plus one entry in that list (docs/adding-a-device-link.md).
 *
 * Rejected alternative: links registering themselves in a global registry on import (matter.js's
 * singletons). A plain list is type-checked, ordered, and visible in one file.
 */
import type { Clock, DeviceLink, Layer2Id, LinkId, LinkKind, Logger, Parsed } from '@msgin5g/core';
import { parseLinkKind } from '@msgin5g/core';
import { z } from 'zod';

/** What the gateway gives a link's factory: shared services and the instance's id. */
export interface LinkDeps {
  /**
   * The instance id (`udp`, `serial-2`): pass it to the link so its logs tell instances apart.
   * Requests are tagged with it by the core, not by the link.
   */
  readonly id: LinkId;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** One `start` flag of a link, with the environment variable that sets the same setting. */
export interface LinkOption {
  /** The setting (a key of the descriptor's settings schema) the flag sets. */
  readonly setting: string;
  /** Commander spelling with its value: `--serial-path <path>`. Must start with `--<kind>-`. */
  readonly flag: string;
  /** Environment variable, `MSGIN5G_…` (a repeatable option takes a comma-separated list). */
  readonly env?: string;
  /** One line for `--help`; say the default. */
  readonly description: string;
  /**
   * Each value starts one more instance of the link (`--serial-path A --serial-path B`); the other
   * flags of the link apply to every one of them. At most one option per descriptor, and it must be
   * the activating setting (`activation.by`).
   */
  readonly repeatable?: boolean;
}

/** Matches Layer-2 IDs against one authorization-list pattern. */
export type Layer2IdMatcher = (layer2Id: Layer2Id) => boolean;

/**
 * How a link's Layer-2 IDs are written. The canonical form is what the link reports with each
 * request and what the store keeps; `parse` turns what an operator types into it.
 */
export interface Layer2IdSyntax {
  /** One line for errors and `--help`, e.g. `serial:PATH (serial:/dev/ttyUSB0)`. */
  readonly form: string;
  /** Parses a Layer-2 ID as typed (CLI, config) into the canonical form. */
  parse(text: string): Parsed<Layer2Id>;
  /** The form shown to operators (CLI tables); the canonical form when omitted. */
  print?(layer2Id: Layer2Id): string;
  /**
   * Reads an authorization-list pattern (`layer2Id:` of an entry; `*` is handled by the gateway).
   * `undefined`: the text is not of this syntax (another link's, or nobody's). `{ ok: false }`: it
   * is of this syntax but wrong (a CIDR block with prefix /33); the error is shown to the operator.
   */
  pattern(text: string): Parsed<Layer2IdMatcher> | undefined;
}

/**
 * A kind of device link, as its package exports it. `Settings` is the validated settings object of
 * one instance (the output of `settings`).
 */
export interface DeviceLinkDescriptor<Settings extends object = object> {
  /** Link kind: `serial`. Also the default name of the first instance. See `parseLinkKind`. */
  readonly kind: LinkKind;
  /** One line for `--help` and docs: what the link carries, and the clause it implements. */
  readonly summary: string;
  /** Key of its one-instance section in the config file (`coapDevice:`); default: the kind. */
  readonly configKey?: string;
  /**
   * zod schema of one instance's settings, with defaults; a strict object. `type` and `name` are
   * reserved (the gateway reads them in `links:` entries).
   */
  readonly settings: z.ZodType<Settings>;
  /**
   * What turns an instance on from its config section, flags or environment: `{ by: 'path' }` — the
   * setting being present (a repeatable option's setting may hold several values); `'default'` — on
   * unless `enabled: false` or `--no-<kind>` (the UDP link).
   */
  readonly activation: { readonly by: string } | 'default';
  readonly options: readonly LinkOption[];
  readonly layer2Ids: Layer2IdSyntax;
  /**
   * Things only one instance of any link may hold, as strings compared across all instances:
   * `udp-port:5690`, `serial:/dev/ttyUSB0`. Two instances claiming one refuse the configuration.
   */
  resources?(settings: Settings): readonly string[];
  /** Builds one instance. Must not open anything: the gateway calls `start()` later. */
  create(settings: Settings, deps: LinkDeps): DeviceLink;
}

/** A descriptor with its settings type erased, as the gateway's list holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDeviceLinkDescriptor = DeviceLinkDescriptor<any>;

/**
 * Checks a descriptor once, where the link package defines it, so a mistake fails the package's own
 * tests rather than the gateway's start: the kind's syntax; the settings schema is a strict zod
 * object; `activation.by` and each option's `setting` are keys of it; `type` and `name` are not;
 * flags spelled `--<kind>-… <value>` or `--<configKey>-… <value>`; environment names `MSGIN5G_…`;
 * at most one repeatable option, and only on the activating setting.
 * @returns the descriptor itself.
 * @throws TypeError naming the problem.
 */
export function defineDeviceLink<Settings extends object>(descriptor: DeviceLinkDescriptor<Settings>): DeviceLinkDescriptor<Settings> {
  const kind = parseLinkKind(descriptor.kind);
  if (!kind.ok) throw new TypeError(`device link descriptor: ${kind.error}`);
  const prefixes = [`--${descriptor.kind}-`, `--${kebab(descriptor.configKey ?? descriptor.kind)}-`];
  const repeatable = descriptor.options.filter((o) => o.repeatable === true);
  if (repeatable.length > 1) throw new TypeError(`device link ${descriptor.kind}: at most one repeatable option, got ${repeatable.map((o) => o.flag).join(', ')}`);
  const by = descriptor.activation === 'default' ? undefined : descriptor.activation.by;
  const schema = descriptor.settings as unknown;
  if (!(schema instanceof z.ZodObject) || schema._zod.def.catchall?._zod.def.type !== 'never') {
    throw new TypeError(`device link ${descriptor.kind}: settings must be a strict zod object (z.object({...}).strict()), so a misspelt setting is reported, not ignored`);
  }
  const keys = new Set(Object.keys(schema.shape));
  if (by !== undefined && !keys.has(by)) throw new TypeError(`device link ${descriptor.kind}: activation.by names "${by}", which is not a setting (${[...keys].join(', ')})`);
  for (const reserved of ['type', 'name']) if (keys.has(reserved)) throw new TypeError(`device link ${descriptor.kind}: setting "${reserved}" is reserved`);
  for (const o of descriptor.options) {
    if (o.setting === 'type' || o.setting === 'name') throw new TypeError(`device link ${descriptor.kind}: setting "${o.setting}" is reserved`);
    if (!keys.has(o.setting)) throw new TypeError(`device link ${descriptor.kind}: flag ${o.flag} sets "${o.setting}", which is not a setting (${[...keys].join(', ')})`);
    if (!prefixes.some((p) => o.flag.startsWith(p))) throw new TypeError(`device link ${descriptor.kind}: flag ${o.flag} must start with ${prefixes.join(' or ')}`);
    if (!/^--[a-z0-9-]+ <[a-z0-9-]+>$/.test(o.flag)) throw new TypeError(`device link ${descriptor.kind}: flag ${JSON.stringify(o.flag)} must look like "--${descriptor.kind}-name <value>"`);
    if (o.env !== undefined && !/^MSGIN5G_[A-Z0-9_]+$/.test(o.env)) throw new TypeError(`device link ${descriptor.kind}: environment variable ${o.env} must be MSGIN5G_…`);
    if (o.repeatable === true && o.setting !== by) throw new TypeError(`device link ${descriptor.kind}: the repeatable option ${o.flag} must set the activating setting ${String(by)}`);
  }
  return descriptor;
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
