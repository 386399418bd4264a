import { ErrorCode, type WireError } from 'sdk-realtime/protocol';
import { MAX_NAME_LENGTH } from '../connection/input';
import { wireError as err } from '../connection/refusal';

/** The topics of a `subscribe`-family event: one topic or an array of them, or why not. */
export function topicsOf(event: string, input: unknown, max: number): { topics: string[] } | { error: WireError } {
  const list = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(list)) return { error: err(ErrorCode.BadRequest, `${event}: expected a topic or an array of topics`) };
  if (list.length > max) return { error: err(ErrorCode.BadRequest, `${event}: at most ${max} topics per event`) };
  for (let i = 0; i < list.length; i++) {
    const t: unknown = list[i];
    if (typeof t !== 'string' || t.length === 0 || t.length > MAX_NAME_LENGTH) {
      const where = typeof input === 'string' ? 'topic' : `topics[${i}]`;
      return { error: err(ErrorCode.BadRequest, `${event}: ${where} must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`) };
    }
  }
  return { topics: [...new Set(list as string[])] };
}

/** Splits socket.io event arguments into the payload and the acknowledgement callback (last, if a function). */
export function argsOf(args: unknown[]): { input: unknown; ack?: (answer: unknown) => void } {
  const last = args[args.length - 1];
  if (typeof last === 'function') return { input: args.length > 1 ? args[0] : undefined, ack: last as (answer: unknown) => void };
  return { input: args[0] };
}
