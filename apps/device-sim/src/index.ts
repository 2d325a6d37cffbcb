/**
 * `@msgin5g/device-sim`: a simulated constrained device (Application Client) for the Gateway UE, over
 * the UDP link (`UdpDevice`), the L2 link (`L2Device`), the CoAP device link (`CoapDevice`) or a
 * serial line (`SerialDevice`).
 * The library part is shared by the `device` CLI, e2e tests, the demo and benchmarks.
 */
export {
  UdpDevice,
  UdpDeviceError,
  type UdpDeviceErrorReason,
  type UdpDeviceOptions,
  type RequestOptions,
  type ReceivedDatagram,
  type Exchange,
} from './udp-device';
export { L2Device, L2DeviceError, type L2DeviceErrorReason, type L2DeviceOptions, type L2Exchange, type ReceivedFrame } from './l2-device';
export { parseGatewayAddress, formatGatewayAddress, type GatewayAddress } from './gateway-address';
export { messageJson, toHex } from './message-json';
export { runCli, DEFAULT_LOCAL_PORT, EXIT_SUCCESS, EXIT_FAILURE, EXIT_NO_ANSWER, type CliIo } from './cli';
export { CoapDevice, CoapDeviceError, type CoapAnswer, type CoapDeviceOptions } from './coap-device';
export { SerialDevice, SerialDeviceError, slipEncode, type SerialDeviceErrorReason, type SerialDeviceOptions, type SerialExchange, type ReceivedSerialFrame } from './serial-device';
export { CoapEndpoint, CoapEndpointError, type CoapEndpointOptions, type CoapReply, type CoapServed, type CoapPostHandler } from './coap-endpoint';
export { M5MessagingChannel, type M5Device, type M5Exchange } from './m5-channel';
export { CoapMessagingChannel } from './coap-channel';
export { runSend, runListen, registerFirst, MessagingError, type MessagingChannel, type Arrival, type Answered, type ListenOptions } from './messaging';
export { printableText } from './message-json';
