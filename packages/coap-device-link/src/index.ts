/**
 * `@msgin5g/coap-device-link`: the `DeviceLink` port for CoAP-capable constrained devices
 * (TS 24.538 Annex A.3 style, docs/wire-formats.md §3.3): POST /msgin5g with JSON bodies, answered 2.04
 * piggybacked, as a separate response, or as a NON; messages both ways (`MSG`, `IMDN`, `MSGRESP`),
 * the gateway's own as CON POSTs to the device. Only the adapter, its options, their defaults
 * and its counters: the CoAP message format and the JSON bodies are in `@msgin5g/protocol`.
 */
export {
  CoapDeviceLink,
  EXCHANGE_LIFETIME_MS,
  NON_LIFETIME_MS,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_SEPARATE_AFTER_MS,
  DEFAULT_MAX_PENDING_EXCHANGES,
  DEFAULT_MAX_EXCHANGES_PER_DEVICE,
  DEFAULT_MAX_REMEMBERED_MESSAGES,
  DEFAULT_REFUSAL_MAX_AGE_S,
  DEFAULT_MAX_DATAGRAM_OCTETS,
  type CoapDeviceLinkOptions,
  type CoapDeviceLinkCounters,
} from './coap-device-link';
export { coapDeviceLink, coapLinkSettings } from './coap-device-link-descriptor';
