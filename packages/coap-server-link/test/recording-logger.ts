export { RecordingLogger, type LogLine } from '@msgin5g/core/testing';
