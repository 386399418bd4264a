import { z } from 'zod';

/** What a rule measures over its window (exact definitions: {@link measure} and docs/telemetry-alerts.md). */
export const METRICS = ['error_rate', 'api_p95', 'api_failure_rate', 'disconnect_rate', 'new_error'] as const;
export type AlertMetric = (typeof METRICS)[number];

export const OPS = ['>', '>=', '<', '<='] as const;
export type AlertOp = (typeof OPS)[number];

export const WEBHOOK_FORMATS = ['slack', 'feishu', 'dingtalk', 'json'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Most webhooks per rule. */
export const MAX_WEBHOOKS = 10;
/** Longest alert window: minute buckets are kept 48 h (aggregates/types.ts). */
export const MAX_WINDOW_MINUTES = 48 * 60;

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits or . _ - :');
const name = (max: number) => z.string().min(1, 'must be a non-empty string').max(max, `at most ${max} characters`);
const minutes = (max: number) =>
  z.number({ message: 'must be a number of minutes' }).int('must be an integer').min(1, 'must be at least 1').max(max, `at most ${max}`);

const webhook = z
  .object({
    // Scheme and target are checked again when sending (webhook-target.ts): DNS may change.
    url: z
      .string()
      .max(2000, 'at most 2000 characters')
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http(s) URL'),
    format: z.enum(WEBHOOK_FORMATS, { message: 'must be slack, feishu, dingtalk or json' }),
    /** Signing secret (Feishu, DingTalk; `json`: an `x-signature` HMAC of the body). */
    secret: name(500).optional(),
  })
  .strict();

/** An alert rule as given in `telemetry.alerts.rules` or `PUT /api/telemetry/alerts/rules/:id`. */
export const alertRule = z
  .object({
    id,
    app: name(100),
    /** Only this environment; every environment when absent. */
    env: name(50).optional(),
    release: name(100).optional(),
    metric: z.enum(METRICS, { message: `must be one of ${METRICS.join(', ')}` }),
    op: z.enum(OPS, { message: 'must be >, >=, < or <=' }).default('>'),
    threshold: z.number({ message: 'must be a number' }).finite('must be finite'),
    windowMinutes: minutes(MAX_WINDOW_MINUTES).default(5),
    debounceMinutes: minutes(7 * 24 * 60).default(30),
    /** Smallest denominator (views, sessions, requests) a rate needs before the rule can fire. */
    minSamples: z.number().int('must be an integer').min(1, 'must be at least 1').default(1),
    webhooks: z.array(webhook, { message: 'must be an array' }).max(MAX_WEBHOOKS, `at most ${MAX_WEBHOOKS} webhooks`).default([]),
    /** A paused rule is not evaluated (its open alert stays as it is). */
    enabled: z.boolean({ message: 'must be a boolean' }).default(true),
  })
  .strict();

export type AlertRuleInput = z.input<typeof alertRule>;
export type AlertRule = z.output<typeof alertRule>;
export type Webhook = AlertRule['webhooks'][number];

const time = z.union([
  z.number().int('must be an integer').nonnegative('must not be negative'),
  z.string().datetime({ offset: true, message: 'must be an ISO-8601 date-time or ms since the epoch' }).transform((s) => Date.parse(s)),
]);

/** A silence window: no notification for `ruleId` (every rule when absent) of `app` between `from` and `to`. */
export const silenceInput = z
  .object({
    ruleId: id.optional(),
    app: name(100).optional(),
    from: time,
    to: time,
    comment: z.string().max(500, 'at most 500 characters').optional(),
  })
  .strict()
  .refine((s) => s.to > s.from, { message: 'must be after from', path: ['to'] });

export type SilenceInput = z.input<typeof silenceInput>;
export type Silence = z.output<typeof silenceInput> & { id: string };

/** The first issue of a failed parse as `{ field, message }`, the field a dotted path under `prefix`. */
export function firstIssue(error: z.ZodError, prefix = ''): { field: string; message: string } {
  const issue = error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  return { field: field || '(body)', message: field ? `${field}: ${issue.message}` : issue.message };
}
