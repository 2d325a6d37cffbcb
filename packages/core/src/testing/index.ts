/**
 * Test doubles and port contract suites (`@msgin5g/core/testing`). Kept out of the main entry point so
 * production code never ships them. The contract suites call Jest's globals.
 */
export { FakeClock } from './fake-clock';
export { SequenceRegistrationIdAllocator } from './sequence-registration-id-allocator';
export { InMemoryRegistrationStore } from '../in-memory-registration-store';
export { InMemoryMessageStore } from '../in-memory-message-store';
export { FakeServerLink, type FakeAnswer, type FakeMessageAnswer, type FakeOperation, type FakeServerCall } from './fake-server-link';
export { InMemoryDeviceLink } from './in-memory-device-link';
export { registrationStoreContract, sampleRegistration } from './registration-store-contract';
export { messageStoreContract, sampleDownlinkMessage, sampleMessageId, sampleOutboxReport, type MessageStoreHarness } from './message-store-contract';
export { deviceLinkContract, RecordingDeviceLinkHandler, type DeviceLinkContractOptions, type DeviceLinkHarness, type MalformedDeliveryAnswer, type TestDevice } from './device-link-contract';
export { serverLinkContract, type ServerLinkHarness, type ScriptedAnswer } from './server-link-contract';
export { RecordingLogger, type LogLine } from './recording-logger';
