import type { ClientFrame } from 'sdk-realtime/protocol';
import { tooDeep } from '../json-depth';

/** Longest topic, method, app or device name accepted, in UTF-16 units. */
export const MAX_NAME_LENGTH = 256;
/** Longest idempotency key of a `pub`. */
export const MAX_KEY_LENGTH = 128;

/**
 * What is wrong with a decoded frame's input, or `undefined`: names longer than
 * {@link MAX_NAME_LENGTH}, idempotency keys over {@link MAX_KEY_LENGTH}, JSON nested too deep.
 * Answered with `bad_request` (docs/protocol.md).
 */
export function inputProblem(frame: ClientFrame): string | undefined {
  const long = (field: string, v: string | undefined, max = MAX_NAME_LENGTH) =>
    v !== undefined && v.length > max ? `${frame.t}: "${field}" is longer than ${max}` : undefined;
  switch (frame.t) {
    case 'connect':
      return long('app', frame.app) ?? long('device', frame.device) ?? deep(frame.streams, 'streams', 2);
    case 'subs':
      for (const s of frame.subs) {
        const problem = long('topic', s.topic);
        if (problem) return problem;
      }
      return undefined;
    case 'sub':
    case 'unsub':
    case 'watch':
    case 'unwatch':
      return long('topic', frame.topic);
    case 'pub':
      return long('topic', frame.topic) ?? long('key', frame.key, MAX_KEY_LENGTH) ?? deep(frame.data, 'data');
    case 'rpc':
      return long('method', frame.method) ?? deep(frame.params, 'params');
    default:
      return undefined;
  }
}

function deep(value: unknown, field: string, max?: number): string | undefined {
  const path = tooDeep(value, max, field);
  return path === undefined ? undefined : `"${path}" is nested too deeply`;
}
