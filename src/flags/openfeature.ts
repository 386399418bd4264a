/**
 * `sdk-realtime/flags/openfeature`: an OpenFeature web provider (static context) over a
 * `createFlags` store. Its own entry because it imports `@openfeature/web-sdk` (an optional peer):
 * an app that uses `sdk-realtime/flags` without OpenFeature must not have to install it.
 *
 * ```ts
 * import { OpenFeature } from '@openfeature/web-sdk';
 * import { RealtimeFlagsProvider } from 'sdk-realtime/flags/openfeature';
 * await OpenFeature.setProviderAndWait(new RealtimeFlagsProvider(flags, { client }));
 * OpenFeature.getClient().getBooleanValue('new-checkout', false);
 * ```
 * See docs/flags.md.
 * @packageDocumentation
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/web-sdk';
import type { RealtimeClient } from 'sdk-realtime';
import type { Flags } from './index';

/** Options of {@link RealtimeFlagsProvider}. */
export interface RealtimeFlagsProviderOptions {
  /**
   * The realtime client the flags come over. When given, losing its connection emits
   * `PROVIDER_STALE` (values are still served, from the cache) and the fresh snapshot after the
   * reconnect emits `PROVIDER_READY`. Default: none (no stale signal; HTTP polling has none).
   */
  client?: RealtimeClient;
  /**
   * ms `initialize` waits for the first snapshot (or the stored one) before it rejects, so the
   * SDK emits `PROVIDER_ERROR` instead of waiting for ever; `PROVIDER_READY` follows when the
   * flags arrive later. `0`: wait for ever. Default `10000`.
   */
  readyTimeout?: number;
}

type FlagType = 'boolean' | 'string' | 'number' | 'object';

/**
 * OpenFeature provider for the web SDK. Resolution is synchronous from the `createFlags` cache
 * (the server already evaluated every flag for the verified user): `reason` is the server's
 * (`STATIC`, `TARGETING_MATCH`, `SPLIT`, `DEFAULT`, `DISABLED`), `CACHED` for a value from storage
 * not yet confirmed by the server; `variant` and `flagMetadata.version` when known. An unknown key
 * resolves to the default with `FLAG_NOT_FOUND`, a value of another type with `TYPE_MISMATCH`,
 * anything before the first snapshot with `PROVIDER_NOT_READY`.
 *
 * Live patches emit `PROVIDER_CONFIGURATION_CHANGED` with `flagsChanged` (the keys whose values
 * changed). The evaluation context is not used: who the user is comes from the client's verified
 * token (a new token with other claims re-evaluates the flags on the server), so a page cannot
 * claim another identity through the context.
 */
export class RealtimeFlagsProvider implements Provider {
  readonly metadata = { name: 'sdk-realtime' } as const;
  readonly runsOn = 'client' as const;
  /** Events for the SDK (`PROVIDER_READY`, `PROVIDER_ERROR`, `PROVIDER_STALE`, `PROVIDER_CONFIGURATION_CHANGED`). */
  readonly events = new OpenFeatureEventEmitter();
  private isReady_ = false;
  private stale_ = false;
  private failed_ = false;
  private offs_: Array<() => void> = [];
  private readonly client_: RealtimeClient | undefined;
  private readonly readyTimeout_: number;

  constructor(
    private readonly flags_: Flags,
    options: RealtimeFlagsProviderOptions = {},
  ) {
    if (!flags_ || typeof flags_.getDetails !== 'function') throw new TypeError('RealtimeFlagsProvider: flags must be a createFlags() store');
    const { client, readyTimeout = 10000 } = options;
    if (client !== undefined && typeof client?.subscribeState !== 'function') throw new TypeError('RealtimeFlagsProvider: options.client must be a realtime client');
    if (typeof readyTimeout !== 'number' || !(readyTimeout >= 0)) throw new TypeError('RealtimeFlagsProvider: options.readyTimeout must be a number of ms >= 0');
    this.client_ = client;
    this.readyTimeout_ = readyTimeout;
  }

  /** Resolves with the first snapshot (or the stored one); rejects after `readyTimeout`. */
  async initialize(_context?: EvaluationContext): Promise<void> {
    this.onClose_();
    const flags = this.flags_;
    this.offs_.push(flags.on('change', (keys) => this.isReady_ && this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: keys })));
    this.offs_.push(flags.on('snapshot', () => this.fresh_()));
    const client = this.client_;
    if (client) this.offs_.push(client.subscribeState(() => client.state === 'reconnecting' && this.isReady_ && !this.stale_ && ((this.stale_ = true), this.events.emit(ProviderEvents.Stale))));
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        flags.ready,
        new Promise<never>((_, reject) => {
          if (this.readyTimeout_ > 0) timer = setTimeout(() => reject(new Error(`sdk-realtime flags not ready after ${this.readyTimeout_} ms`)), this.readyTimeout_);
        }),
      ]);
    } catch (e) {
      // The SDK emits PROVIDER_ERROR; the flags arriving later emit PROVIDER_READY (see fresh_).
      this.failed_ = true;
      void flags.ready.then(() => this.fresh_());
      throw e;
    } finally {
      clearTimeout(timer);
    }
    this.isReady_ = true;
  }

  /** Nothing to reconcile: the server evaluates for the token's identity, not this context. */
  onContextChange(_old: EvaluationContext, _next: EvaluationContext): void {}

  async onClose(): Promise<void> {
    this.onClose_();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean> {
    return this.resolve_(flagKey, defaultValue, 'boolean');
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string> {
    return this.resolve_(flagKey, defaultValue, 'string');
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number> {
    return this.resolve_(flagKey, defaultValue, 'number');
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    return this.resolve_(flagKey, defaultValue, 'object');
  }

  private resolve_<T>(key: string, defaultValue: T, type: FlagType): ResolutionDetails<T> {
    const error = (errorCode: ErrorCode, errorMessage: string): ResolutionDetails<T> => ({ value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode, errorMessage });
    if (!this.isReady_) return error(ErrorCode.PROVIDER_NOT_READY, 'no flags yet (waiting for the first snapshot)');
    const d = this.flags_.getDetails(key);
    if (!d) return error(ErrorCode.FLAG_NOT_FOUND, `flag "${key}" is not defined for this user`);
    const actual = d.value === null ? 'null' : typeof d.value;
    if (actual !== type) return error(ErrorCode.TYPE_MISMATCH, `flag "${key}" is a ${actual}, not a ${type}`);
    return {
      value: d.value as T,
      reason: d.reason ?? StandardResolutionReasons.CACHED,
      ...(d.variant !== undefined ? { variant: d.variant } : {}),
      flagMetadata: d.version !== undefined ? { version: d.version } : {},
    };
  }

  /** A full snapshot arrived: back to ready after a stale spell or a failed start. */
  private fresh_(): void {
    if (!this.stale_ && !this.failed_) return;
    this.stale_ = this.failed_ = false;
    this.isReady_ = true;
    this.events.emit(ProviderEvents.Ready);
  }

  private onClose_(): void {
    // A late first snapshot after a timed-out start must not announce a closed provider.
    this.failed_ = false;
    for (const off of this.offs_.splice(0)) off();
  }
}
