import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyGate } from '../../api-key';
import type { Logger } from '../../logger';
import type { AggregateReader } from '../aggregates/types';
import { AlertEngine, AlertInputError, type Alert } from './engine';
import { resolveAlertsOptions, type AlertsOptions } from './options';
import { createAlertRoutes } from './routes';
import { WebhookSender, type Delivery } from './sender';
import { defaultLookup } from './target';

export { AlertEngine, AlertInputError, AlertLimitError, type Alert, type AlertState, type RuleStatus } from './engine';
export { ALERTS_PATH, isAlertsPath } from './routes';
export { WebhookSender, type Delivery } from './sender';
export type { AlertsOptions } from './options';
export type { AlertRule, AlertRuleInput, AlertMetric, Silence, SilenceInput, Webhook, WebhookFormat } from './rules';
export type { Notice } from './payload';

/** Alert rules, their evaluation timer, webhooks and admin API. */
export interface AlertsService {
  engine: AlertEngine;
  sender: WebhookSender;
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
  /** Evaluate every rule now (the timer does it every `interval`). */
  evaluate(): Promise<void>;
  /** Stop the timer, abort webhook sends. Idempotent. */
  close(): void;
}

export interface AlertsDeps {
  reader: AggregateReader;
  apiKeys: ApiKeyGate;
  /** The server's `apiKey` (one key per app scopes what a key administers). */
  apiKey?: string | Record<string, string>;
  maxBodyBytes: number;
  logger: Logger;
  /** An alert opened or changed state. */
  onAlert?: (alert: Alert) => void;
  /** A webhook send ended (delivered or given up). */
  onDelivery?: (d: Delivery) => void;
}

/** Build the alerts service and start its timer; a bad option or rule throws a TypeError naming it. */
export function createAlertsService(options: AlertsOptions, deps: AlertsDeps): AlertsService {
  const o = resolveAlertsOptions(options);
  const sender = new WebhookSender(
    {
      maxPending: o.maxPendingSends,
      concurrency: o.concurrency,
      attempts: o.attempts,
      baseDelay: o.retryDelay,
      maxDelay: o.maxRetryDelay,
      timeout: o.timeout,
      allowPrivateTargets: o.allowPrivateTargets,
    },
    { now: o.now, random: o.random, setTimeout: o.timers.setTimeout, clearTimeout: o.timers.clearTimeout, lookup: o.lookup ?? defaultLookup },
    deps.logger,
    (d) => {
      engine.delivery(d.alertId, d.ok);
      deps.onDelivery?.(d);
    },
  );
  const engine: AlertEngine = new AlertEngine(
    deps.reader,
    { maxRules: o.maxRules, maxHistory: o.maxHistory, maxSilences: o.maxSilences },
    { now: o.now },
    {
      notify: (rule, notice) => {
        for (const hook of rule.webhooks) sender.send(hook, notice);
      },
      changed: (alert) => {
        try {
          deps.onAlert?.(alert);
        } catch (e) {
          deps.logger.error('alerts: onAlert failed', e);
        }
      },
    },
    deps.logger,
  );
  o.rules.forEach((r, i) => {
    try {
      engine.put(r, `rules.${i}`);
    } catch (e) {
      if (e instanceof AlertInputError) throw new TypeError(`sdk-realtime server: option "telemetry.alerts.${e.field}" is invalid: ${e.message}`);
      throw e;
    }
  });

  let closed = false;
  let timer: unknown;
  let running: Promise<void> | undefined;
  const evaluate = (): Promise<void> =>
    (running ??= engine.evaluate().finally(() => {
      running = undefined;
    }));
  // The next evaluation is scheduled when one ends: a slow store never gets overlapping rounds.
  const schedule = () => {
    if (closed) return;
    timer = o.timers.setTimeout(() => {
      void evaluate()
        .catch((e: unknown) => deps.logger.error('alerts: evaluation failed', e))
        .finally(schedule);
    }, o.interval);
    (timer as { unref?: () => void } | undefined)?.unref?.();
  };
  schedule();

  return {
    engine,
    sender,
    handle: createAlertRoutes({ engine, apiKeys: deps.apiKeys, apiKey: deps.apiKey, maxBodyBytes: deps.maxBodyBytes, logger: deps.logger }),
    evaluate,
    close: () => {
      if (closed) return;
      closed = true;
      o.timers.clearTimeout(timer);
      sender.close();
    },
  };
}
