/**
 * `sdk-realtime/protocol`: the wire contract shared by the client and `sdk-realtime-server`.
 *
 * Frame types, error and close codes, the codec (encode, decode and validate one frame, with the
 * size bound applied before parsing), and the telemetry wire rules both ends apply (the upload
 * format, the credential-key pattern and the PII scrubber). A custom server or a test double
 * built on these speaks exactly what the client expects. See docs/protocol.md.
 *
 * @packageDocumentation
 */
export * from './frames';
export {
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  isInt,
  isObj,
  isOver,
  isPosition,
  isPublication,
  utf8Length,
  type Decoded,
} from './codec';
export { SENSITIVE_KEY } from '../telemetry/fields';
export { scrubString } from '../telemetry/scrub';
export type { Batch, EventType, RemoteConfig, TelemetryEvent } from '../telemetry/types';
