import { z } from 'zod';

/** Most flags one server holds (file or admin API); more is refused. */
export const MAX_FLAGS = 1000;
/** Most rules per flag. */
export const MAX_RULES = 100;
/** Most ids per `users` / `devices` / `role` / `env` list in a rule. */
export const MAX_LIST = 1000;

const json = z.custom<unknown>((v) => v !== undefined, { message: 'is required (any JSON value)' });
const list = z.union([z.string().min(1), z.array(z.string().min(1)).max(MAX_LIST, `at most ${MAX_LIST} entries`)]);
const percentage = z.number().min(0, 'must be 0 to 100').max(100, 'must be 0 to 100');
const time = z.union([z.string().datetime({ offset: true, message: 'must be an ISO-8601 date-time' }), z.number().int().nonnegative()]);

/** A flag key: 1–128 characters of letters, digits, `.`, `_`, `-`, `:`. */
export const flagKey = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits or . _ - :');

const rule = z
  .object({
    /** Conditions, all of which must hold (a list matches any of its entries). Absent: every caller. */
    if: z
      .object({
        env: list.optional(),
        role: list.optional(),
        users: list.optional(),
        devices: list.optional(),
        /** Verified token claims that must equal these values (a list: any of them). */
        claims: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()])).max(MAX_LIST)])).optional(),
      })
      .strict()
      .optional(),
    /** Share of matching callers (by stable bucket) that get `value`; absent: all of them. */
    percentage: percentage.optional(),
    value: json,
  })
  .strict();

const variant = z.object({ name: z.string().min(1).max(128), value: json, weight: percentage }).strict();

/** A flag definition as written in the flags file or `PUT /api/flags/:key` (docs/flags.md). */
export const flagDefinition = z
  .object({
    key: flagKey,
    enabled: z.boolean(),
    /** Apps (connect `app` / token `app` claim) the flag exists in; absent: every app. */
    apps: z.array(z.string().min(1).max(256)).max(MAX_LIST, `at most ${MAX_LIST} entries`).optional(),
    /** Served when enabled and no rule matched (absent with `variants`: `true`). */
    value: json.optional(),
    /** Weighted split served when no rule matched; weights are percentages summing to 100. */
    variants: z.array(variant).min(1).max(100).optional(),
    /** Served when disabled or outside `startAt`–`endAt`. Default `false`. */
    off: json.optional(),
    rules: z.array(rule).max(MAX_RULES, `at most ${MAX_RULES} rules`).default([]),
    /** Bucketing salt; change it to reshuffle who is in a percentage. Default `""`. */
    salt: z.string().max(128).default(''),
    startAt: time.optional(),
    endAt: time.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.value !== undefined && d.variants) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'give value or variants, not both' });
    if (d.variants) {
      const sum = d.variants.reduce((s, v) => s + v.weight, 0);
      if (Math.abs(sum - 100) > 1e-9) ctx.addIssue({ code: 'custom', path: ['variants'], message: `weights must sum to 100 (got ${sum})` });
    }
    if (d.startAt !== undefined && d.endAt !== undefined && timeOf(d.startAt) >= timeOf(d.endAt)) {
      ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'must be after startAt' });
    }
  });

export type FlagDefinition = z.output<typeof flagDefinition>;
export type FlagInput = z.input<typeof flagDefinition>;

/** The flags file: an array of definitions, or `{ "flags": [...] }`. */
export const flagsFile = z.object({ flags: z.array(flagDefinition) });

/** ms since the Unix epoch of a `startAt` / `endAt`. */
export function timeOf(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t);
}

/** The first problem of a failed parse as `field: message` and the field path. */
export function firstIssue(error: z.ZodError, prefix = ''): { field: string; message: string } {
  const issue = error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  return { field: field || '(body)', message: field ? `${field}: ${issue.message}` : issue.message };
}

/** Parse a whole set (the file's contents): throws an Error naming the field at fault. */
export function parseFlagSet(raw: unknown): FlagDefinition[] {
  const parsed = flagsFile.safeParse(Array.isArray(raw) ? { flags: raw } : raw);
  if (!parsed.success) throw new Error(`invalid flags: ${firstIssue(parsed.error).message}`);
  const flags = parsed.data.flags;
  if (flags.length > MAX_FLAGS) throw new Error(`invalid flags: at most ${MAX_FLAGS} flags`);
  const seen = new Set<string>();
  for (const f of flags) {
    if (seen.has(f.key)) throw new Error(`invalid flags: duplicate key "${f.key}"`);
    seen.add(f.key);
  }
  return flags;
}
