/**
 * Composition root: the one place that knows every adapter, and the only inversify user
 * (docs/adr/0002-dependency-direction.md). Adapters are chosen here from the configuration, as
 * aiocoap picks its transports in one place; nothing else in the project imports inversify.
 *
 * Bindings are factories (`toDynamicValue`) rather than decorated adapter classes, so adapters and
 * the core stay free of DI metadata. Singletons: one store, one server link, one set of links.
 */
import 'reflect-metadata';
import { CoapServerLink } from '@msgin5g/coap-server-link';
import {
  GatewayProcedures,
  InMemoryRegistrationStore,
  type Clock,
  type DeviceAuthorizer,
  type DeviceLink,
  type Logger,
  type RegistrationIdAllocator,
  type RegistrationStore,
  type ServerLink,
  type UeServiceId,
} from '@msgin5g/core';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';
import { UdpDeviceLink } from '@msgin5g/udp-device-link';
import { CoapDeviceLink } from '@msgin5g/coap-device-link';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import { AfPacketFrameSocket } from '@msgin5g/raw-ethernet';
import { Container } from 'inversify';
import { ListDeviceAuthorizer, OpenDeviceAuthorizer } from './authorization';
import type { GatewayConfig } from './config';
import { CryptoRegistrationIdAllocator } from './crypto-registration-id-allocator';
import { GatewayRuntime } from './gateway-runtime';
import { SystemClock } from './system-clock';
import { TOKENS } from './tokens';

/** Opens the store a `--store` spec names: `memory` or `sqlite:PATH`. */
export function openStore(spec: string, config?: Pick<GatewayConfig, 'sqlite'>): RegistrationStore {
  if (spec === 'memory') return new InMemoryRegistrationStore();
  const path = spec.replace(/^sqlite:/, '');
  return SqliteRegistrationStore.open(path, {
    busyTimeoutMs: config?.sqlite.busyTimeoutMs,
    synchronous: config?.sqlite.synchronous,
  });
}

/** Builds the container for a validated configuration. Nothing is opened until `GatewayRuntime` is resolved. */
export function createContainer(config: GatewayConfig, logger: Logger): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind<GatewayConfig>(TOKENS.Config).toConstantValue(config);
  c.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  c.bind<Clock>(TOKENS.Clock).toDynamicValue(() => new SystemClock());
  c.bind<RegistrationIdAllocator>(TOKENS.RegistrationIdAllocator).toDynamicValue(() => new CryptoRegistrationIdAllocator());
  c.bind<DeviceAuthorizer>(TOKENS.DeviceAuthorizer).toDynamicValue(() => {
    if (config.authorization === 'open') return new OpenDeviceAuthorizer();
    const list = ListDeviceAuthorizer.fromFile(config.authorization);
    if (list.size === 0) logger.warn({ authorization: config.authorization }, 'the authorization list is empty: every device will be refused (NOT_AUTHORISED)');
    return list;
  });
  c.bind<RegistrationStore>(TOKENS.RegistrationStore).toDynamicValue(() => openStore(config.store, config));
  c.bind<ServerLink>(TOKENS.ServerLink).toDynamicValue(
    () => new CoapServerLink({ uri: config.server.uri, deadlineMs: config.server.deadlineMs, upstreamSockets: config.server.upstreamSockets, logger }),
  );
  if (config.udp.enabled) {
    c.bind<DeviceLink>(TOKENS.DeviceLink).toDynamicValue(() => new UdpDeviceLink({ host: config.udp.host, port: config.udp.port, logger }));
  }
  const coapDevice = config.coapDevice;
  if (coapDevice.port !== undefined) {
    const port = coapDevice.port;
    c.bind<DeviceLink>(TOKENS.DeviceLink).toDynamicValue(() => new CoapDeviceLink({ host: coapDevice.host, port, uriPath: coapDevice.uriPath, logger }));
  }
  const l2 = config.l2;
  if (l2.interface !== undefined) {
    const interfaceName = l2.interface;
    c.bind<DeviceLink>(TOKENS.DeviceLink).toDynamicValue(
      () =>
        new L2DeviceLink({
          // Bound to the M5 EtherType so the kernel filters: a single 802.1Q-tagged M5 frame still
          // arrives (the kernel strips the tag); only QinQ would need ETH_P_ALL (docs/adr/0007).
          socket: new AfPacketFrameSocket({ interfaceName, etherType: l2.etherType }),
          ...(l2.mac === undefined ? {} : { mac: l2.mac }),
          etherType: l2.etherType,
          logger,
        }),
    );
  }
  c.bind<GatewayProcedures>(TOKENS.GatewayProcedures).toDynamicValue(
    (ctx) =>
      new GatewayProcedures(
        {
          store: ctx.get<RegistrationStore>(TOKENS.RegistrationStore),
          server: ctx.get<ServerLink>(TOKENS.ServerLink),
          links: ctx.getAll<DeviceLink>(TOKENS.DeviceLink),
          clock: ctx.get<Clock>(TOKENS.Clock),
          allocator: ctx.get<RegistrationIdAllocator>(TOKENS.RegistrationIdAllocator),
          authorizer: ctx.get<DeviceAuthorizer>(TOKENS.DeviceAuthorizer),
          logger,
        },
        {
          gatewayUeServiceId: config.ueServiceId as UeServiceId,
          policy: { tombstoneLifetimeMs: config.tombstoneLifetimeMs, removeMappingOnFailure: config.removeMappingOnFailure },
          maxRegistrations: config.limits.maxRegistrations,
          maxInFlight: config.limits.maxInFlight,
          requestsPerSecondPerDevice: config.limits.requestsPerSecondPerDevice,
          burstPerDevice: config.limits.burstPerDevice,
        },
      ),
  );
  c.bind(GatewayRuntime).toSelf();
  return c;
}
