import { z } from 'zod';

const text = (max: number) => z.string().min(1, 'must be a non-empty string').max(max, `at most ${max} characters`);

/** One event of a batch (docs/telemetry.md, "Event"). */
export const telemetryEvent = z.object({
  app: text(100),
  env: z.string().max(50, 'at most 50 characters'),
  release: z.string().max(100, 'at most 100 characters').nullable(),
  userId: z.string().max(200, 'at most 200 characters').nullable(),
  sessionId: text(100),
  type: z.enum(['page', 'event', 'error', 'perf', 'api'], { message: 'must be page, event, error, perf or api' }),
  name: text(500),
  props: z.record(z.string(), z.unknown(), { message: 'must be an object' }),
  ts: z.number({ message: 'must be a number (ms since the epoch)' }).int('must be an integer').nonnegative('must not be negative'),
  rate: z.number({ message: 'must be a number' }).min(0, 'must be in 0..1').max(1, 'must be in 0..1'),
});

/** The body of `POST /api/telemetry/batch` (and the params of the `telemetry.batch` RPC). */
export const telemetryBatch = (maxEvents: number) =>
  z.object({
    v: z.literal(1, { message: 'must be 1' }).optional(),
    sentAt: z.number({ message: 'must be a number' }).optional(),
    events: z.array(telemetryEvent, { message: 'must be an array' }).min(1, 'must not be empty').max(maxEvents, `at most ${maxEvents} events`),
  });

export type TelemetryBatchBody = z.infer<ReturnType<typeof telemetryBatch>>;

/** The first issue of a failed parse as `{ field, message }`, the field as a dotted path. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(body)';
  return { field, message: `${field}: ${issue.message}` };
}
