/**
 * The CoAP device link as the gateway lists it (docs/adding-a-device-link.md): off unless a port is
 * set (`--coap-device-port`, `coapDevice: { port }`, or a `links:` entry of type `coap`).
 */
import { defineDeviceLink, hostSetting, portSetting, positiveIntegerSetting, transportLayer2Ids, z } from '@msgin5g/link-sdk';
import { CoapDeviceLink, DEFAULT_MAX_EXCHANGES_PER_DEVICE, DEFAULT_MAX_PENDING_EXCHANGES, DEFAULT_REFUSAL_MAX_AGE_S } from './coap-device-link';

/** Settings of one CoAP device link instance. */
export const coapLinkSettings = z
  .object({
    /** Address to bind (IPv4 or IPv6 literal). */
    host: hostSetting.default('0.0.0.0'),
    /** UDP port; required (5683 is the usual choice on a device-facing interface). */
    port: portSetting,
    /** The one Uri-Path segment of the resource (docs/wire-formats.md §3.3, provisional `msgin5g`). */
    uriPath: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{1,255}$/, 'must be one Uri-Path segment such as msgin5g')
      .default('msgin5g'),
    /** Pending exchanges per device; a new request beyond it gets 5.03 with Max-Age. */
    maxExchangesPerDevice: positiveIntegerSetting.default(DEFAULT_MAX_EXCHANGES_PER_DEVICE),
    /** Pending exchanges (and separate responses awaiting an ACK) in all; beyond it: 5.03. */
    maxPendingExchanges: positiveIntegerSetting.default(DEFAULT_MAX_PENDING_EXCHANGES),
    /** Max-Age of those 5.03 answers, s (0..86400). */
    refusalMaxAgeS: z.coerce.number({ error: 'must be a whole number of seconds 0..86400' }).int().min(0).max(86_400).default(DEFAULT_REFUSAL_MAX_AGE_S),
  })
  .strict();

/** Descriptor of the CoAP device link: JSON over CoAP, Annex A.3 style (docs/wire-formats.md §3.3). */
export const coapDeviceLink = defineDeviceLink({
  kind: 'coap',
  configKey: 'coapDevice',
  summary: 'JSON over CoAP for CoAP-capable devices, Annex A.3 style (docs/wire-formats.md §3.3); on when a port is set',
  settings: coapLinkSettings,
  activation: { by: 'port' },
  options: [
    { setting: 'port', flag: '--coap-device-port <port>', env: 'MSGIN5G_COAP_DEVICE_PORT', description: 'run the CoAP device link (JSON over CoAP, Annex A.3 style) on this UDP port' },
    { setting: 'host', flag: '--coap-device-host <host>', env: 'MSGIN5G_COAP_DEVICE_HOST', description: 'address of the CoAP device link (default 0.0.0.0)' },
    { setting: 'uriPath', flag: '--coap-device-path <segment>', env: 'MSGIN5G_COAP_DEVICE_PATH', description: 'Uri-Path of the CoAP device link (default msgin5g)' },
  ],
  layer2Ids: transportLayer2Ids,
  resources: (s) => (s.port === 0 ? [] : [`udp-port:${s.port}`]),
  create: (s, deps) =>
    new CoapDeviceLink({
      host: s.host,
      port: s.port,
      uriPath: s.uriPath,
      maxExchangesPerDevice: s.maxExchangesPerDevice,
      maxPendingExchanges: s.maxPendingExchanges,
      refusalMaxAgeS: s.refusalMaxAgeS,
      logger: deps.logger,
    }),
});
