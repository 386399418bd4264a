import { ErrorCode, type WireError } from 'sdk-realtime/protocol';
import type { ConnectionContext, ResolvedOptions } from '../options';
import { wireError as err } from './refusal';

/**
 * Why a connection may not subscribe to a `topic` it does not hold yet (a wire error), or
 * `undefined`: it must pass `canSubscribe` and fit in `maxSubscriptions` with `held` topics
 * already held or about to be added. Shared by native `sub`/`subs` and socket.io `subscribe`; a
 * throwing hook propagates.
 */
export async function subscribeRefusal(options: ResolvedOptions, ctx: ConnectionContext, topic: string, held: number): Promise<WireError | undefined> {
  if (!(await options.canSubscribe(ctx, topic))) return err(ErrorCode.Forbidden, `not allowed to subscribe to ${topic}`);
  if (held >= options.maxSubscriptions) return err(ErrorCode.TooManySubscriptions, `at most ${options.maxSubscriptions} subscriptions`);
  return undefined;
}
