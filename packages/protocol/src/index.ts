/**
 * `@msgin5g/protocol`: the bytes on every wire of the MSGin5G Gateway UE. M5 binary (MSGin5G-5
 * over UDP and L2), the L2 link's Ethernet frame and MAC addresses, the CoAP device link's JSON
 * bodies, the MSGin5G-1 JSON bodies and the reading of server answers, and all provisional code
 * points (`codepoints.ts`). Pure: no I/O. Adapters, the device simulator and the tools import byte
 * layouts from here, never from an adapter.
 *
 * @see docs/wire-formats.md; docs/adr/0004-provisional-code-points.md
 */
export * from './codepoints';
export * from './m5-message';
export * from './m5-protocol-error';
export * from './m5-codec';
export * from './m5-inbound';
export * from './msgin5g1';
export * from './msgin5g1-messages';
export * from './interpret-server-answer';
export * from './coap-device-body';
export {
  COAP_DELIVERY_MESSAGE_TYPES,
  COAP_IMDN_DELIVERY_STATUS,
  COAP_MSGRESP_STATUSES,
  COAP_MSG_BODY_OVERHEAD_OCTETS,
  coapMessageReceivingMaxPayloadOctets,
  decodeCoapDeviceDelivery,
  decodeCoapGatewayDelivery,
  decodeCoapMessageResponse,
  encodeCoapDeviceDelivery,
  encodeCoapGatewayDelivery,
  encodeCoapMessageResponse,
  type CoapDeviceDelivery,
  type CoapGatewayDelivery,
} from './coap-device-delivery-body';
export * from './message-receiving-size';
export * from './coap-device-diagnostic';
export * from './coap-response-code';
export * from './coap-message';
export * from './coap-message-verdict';
export * from './coap-duplicate-cache';
export * from './ethernet-frame';
export * from './mac-address';
export { MAX_JSON_BODY_OCTETS, type JsonObject } from './json-body';
