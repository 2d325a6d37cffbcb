/**
 * Composition root: the one place that knows every adapter, and the only inversify user
 * (docs/adr/0002-dependency-direction.md). Adapters are chosen here from the configuration, as
 * aiocoap picks its transports in one place; nothing else in the project imports inversify.
 *
 * Bindings are factories (`toDynamicValue`) rather than decorated adapter classes, so adapters and
 * the core stay free of DI metadata. Singletons: one store, one server link, one set of links.
 */
import 'reflect-metadata';
import { CoapServerInbox, CoapServerLink } from '@msgin5g/coap-server-link';
import {
  GatewayProcedures,
  InMemoryMessageStore,
  InMemoryRegistrationStore,
  type Clock,
  type DeviceAuthorizer,
  type LinkInstance,
  type Logger,
  type MessageStore,
  type ServerInbox,
  type RegistrationIdAllocator,
  type RegistrationStore,
  type ServerLink,
  type UeServiceId,
} from '@msgin5g/core';
import type { AnyDeviceLinkDescriptor } from '@msgin5g/link-sdk';
import { SqliteRegistrationStore, type SqliteCommit } from '@msgin5g/store-sqlite';
import { Container } from 'inversify';
import { resolve } from 'node:path';
import { ListDeviceAuthorizer, OpenDeviceAuthorizer } from './authorization';
import { ConfigError, type GatewayConfig } from './config';
import { DEVICE_LINKS } from './links';
import { CryptoRegistrationIdAllocator } from './crypto-registration-id-allocator';
import { GatewayMetrics } from './gateway-metrics';
import { GatewayRuntime, registerRetryDelayMs } from './gateway-runtime';
import { acquireStoreLock } from './store-lock';
import { SystemClock } from './system-clock';
import { TOKENS } from './tokens';

/**
 * Opens the store a `--store` spec names: `memory` or `sqlite:PATH`. `onCommit` is told of every
 * group commit of a SQLite store (the metrics' hook).
 */
export function openStore(spec: string, config?: Pick<GatewayConfig, 'sqlite'>, onCommit?: (commit: SqliteCommit) => void): RegistrationStore {
  if (spec === 'memory') return new InMemoryRegistrationStore();
  const path = spec.replace(/^sqlite:/, '');
  return SqliteRegistrationStore.open(path, {
    busyTimeoutMs: config?.sqlite.busyTimeoutMs,
    synchronous: config?.sqlite.synchronous,
    fsync: config?.sqlite.fsync,
    onCommit,
  });
}

/**
 * The gateway's store: `memory`, or the SQLite file under its lock (src/store-lock.ts), released when
 * the store is closed. Logs the store's absolute path.
 * @throws StoreInUseError when another gateway holds the file; errors of {@link openStore} and of the lock file.
 */
function openLockedStore(config: GatewayConfig, logger: Logger, onCommit?: (commit: SqliteCommit) => void): RegistrationStore {
  if (config.store === 'memory') {
    logger.info({ store: 'memory' }, 'store opened (memory: nothing is kept across a restart)');
    return openStore(config.store, config);
  }
  const path = resolve(config.store.replace(/^sqlite:/, ''));
  const lock = acquireStoreLock(path, logger);
  let store: RegistrationStore;
  try {
    store = openStore(`sqlite:${path}`, config, onCommit);
  } catch (err) {
    lock.release();
    throw err;
  }
  const close = store.close.bind(store);
  store.close = async () => {
    try {
      await close();
    } finally {
      lock.release();
    }
  };
  logger.info({ store: `sqlite:${path}`, lock: lock.path }, 'store opened');
  return store;
}

/** The bound inbox's URI, `undefined` when there is none or it is not bound yet. */
function inboxUri(c: Container): string | undefined {
  if (!c.isBound(TOKENS.ServerInbox)) return undefined;
  try {
    return c.get<ServerInbox>(TOKENS.ServerInbox).notifyUri;
  } catch {
    return undefined; // not started yet (port 0 has no port before the bind)
  }
}

/** Builds the container for a validated configuration. Nothing is opened until `GatewayRuntime` is resolved. */
export function createContainer(config: GatewayConfig, logger: Logger, descriptors: readonly AnyDeviceLinkDescriptor[] = DEVICE_LINKS): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind<GatewayConfig>(TOKENS.Config).toConstantValue(config);
  c.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  c.bind<Clock>(TOKENS.Clock).toDynamicValue(() => new SystemClock());
  c.bind<RegistrationIdAllocator>(TOKENS.RegistrationIdAllocator).toDynamicValue(() => new CryptoRegistrationIdAllocator());
  c.bind<DeviceAuthorizer>(TOKENS.DeviceAuthorizer).toDynamicValue(() => {
    if (config.authorization === 'open') return new OpenDeviceAuthorizer();
    const kinds = new Map(config.links.map((l) => [l.id, l.kind]));
    const list = ListDeviceAuthorizer.fromFile(config.authorization, { descriptors, kindOf: (id) => kinds.get(id) });
    if (list.size === 0) logger.warn({ authorization: config.authorization }, 'the authorization list is empty: every device will be refused (NOT_AUTHORISED)');
    return list;
  });
  c.bind<RegistrationStore>(TOKENS.RegistrationStore).toDynamicValue((ctx) => {
    const metrics = ctx.get<GatewayMetrics>(TOKENS.Metrics);
    return openLockedStore(config, logger, (commit) => metrics.storeCommitted(commit));
  });
  // Messages live in the registration store's database (one commit, one fsync for both: docs/adr/0008);
  // `memory` keeps them in memory like the registrations.
  c.bind<MessageStore>(TOKENS.MessageStore).toDynamicValue((ctx) => {
    const store = ctx.get<RegistrationStore>(TOKENS.RegistrationStore);
    return store instanceof SqliteRegistrationStore ? store.messages : new InMemoryMessageStore();
  });
  c.bind<ServerLink>(TOKENS.ServerLink).toDynamicValue(
    () => new CoapServerLink({ uri: config.server.uri, deadlineMs: config.server.deadlineMs, upstreamSockets: config.server.upstreamSockets, logger }),
  );
  // The gateway's MSGin5G-1 endpoint for downlink messages (docs/adr/0013); none with `inbox.port: off`.
  if (config.inbox.port !== 'off') {
    const { host, port, advertiseHost } = config.inbox;
    c.bind<ServerInbox>(TOKENS.ServerInbox).toDynamicValue(() => new CoapServerInbox({ host, port, ...(advertiseHost === undefined ? {} : { advertisedHost: advertiseHost }), logger }));
  }
  // One binding per configured link instance, built by its kind's descriptor (src/links.ts).
  for (const configured of config.links) {
    const descriptor = descriptors.find((d) => d.kind === configured.kind);
    if (descriptor === undefined) throw new ConfigError([`${configured.origin}: no device link of kind ${JSON.stringify(configured.kind)} is built into this gateway`]);
    c.bind<LinkInstance>(TOKENS.DeviceLink).toDynamicValue((ctx) => ({
      id: configured.id,
      link: descriptor.create(configured.settings, { id: configured.id, logger, clock: ctx.get<Clock>(TOKENS.Clock) }),
    }));
  }
  // The metrics come before the store (the store reports its commits to them), so they read the
  // store through a function, at scrape time.
  c.bind<GatewayMetrics>(TOKENS.Metrics).toDynamicValue(
    (ctx) =>
      new GatewayMetrics({
        store: () => c.get<RegistrationStore>(TOKENS.RegistrationStore),
        messages: () => c.get<MessageStore>(TOKENS.MessageStore),
        links: ctx.getAll<LinkInstance>(TOKENS.DeviceLink),
        server: ctx.get<ServerLink>(TOKENS.ServerLink),
      }),
  );
  c.bind<GatewayProcedures>(TOKENS.GatewayProcedures).toDynamicValue(
    (ctx) =>
      new GatewayProcedures(
        {
          store: ctx.get<RegistrationStore>(TOKENS.RegistrationStore),
          messages: ctx.get<MessageStore>(TOKENS.MessageStore),
          server: ctx.get<ServerLink>(TOKENS.ServerLink),
          links: ctx.getAll<LinkInstance>(TOKENS.DeviceLink),
          clock: ctx.get<Clock>(TOKENS.Clock),
          allocator: ctx.get<RegistrationIdAllocator>(TOKENS.RegistrationIdAllocator),
          authorizer: ctx.get<DeviceAuthorizer>(TOKENS.DeviceAuthorizer),
          logger,
          observer: ctx.get<GatewayMetrics>(TOKENS.Metrics),
        },
        {
          gatewayUeServiceId: config.ueServiceId as UeServiceId,
          policy: { tombstoneLifetimeMs: config.tombstoneLifetimeMs, removeMappingOnFailure: config.removeMappingOnFailure },
          maxRegistrations: config.limits.maxRegistrations,
          maxInFlight: config.limits.maxInFlight,
          requestsPerSecondPerDevice: config.limits.requestsPerSecondPerDevice,
          burstPerDevice: config.limits.burstPerDevice,
          // Registering again after the server forgot the gateway backs off as at start-up (docs/adr/0012).
          reregisterDelayMs: (attempt) => registerRetryDelayMs(attempt, config.registerRetryMs, config.registerRetryMaxMs),
          registrationLifetimeS: config.registrationLifetimeS,
          expiry: { expiriesPerSecond: config.expiry.expiriesPerSecond, retryDelayMs: config.expiry.retryDelayMs },
          messages: { queuePerDevice: config.messages.queuePerDevice, queueTotal: config.messages.queueTotal, firstResendMs: config.messages.firstResendMs },
          // Read at each of the gateway's own REGs: the inbox knows its URI once it is bound (GatewayRuntime.start).
          notifyUri: () => inboxUri(c),
        },
      ),
  );
  c.bind(GatewayRuntime).toSelf();
  return c;
}
