import { bucketOf } from './murmur3';
import { timeOf, type FlagDefinition } from './definitions';

/** Who a flag is evaluated for: only verified facts (token claims, server env), never client input. */
export interface FlagContext {
  /** The app of the connection (or the token's `app` claim over HTTP); `null`: unknown. */
  app: string | null;
  /** The token's `sub`, `null` for anonymous connections. */
  user: string | null;
  /** The verified device (token `device` claim or `deviceOf`), else `null`. */
  device: string | null;
  /** The server's environment name (`flags.env`). */
  env: string;
  /** Verified token claims (`role` / `roles` are read from here). */
  claims: Record<string, unknown>;
}

/** Why a flag has its value (OpenFeature reasons). */
export type FlagReason = 'DISABLED' | 'TARGETING_MATCH' | 'SPLIT' | 'STATIC' | 'DEFAULT';

/** One evaluated flag, as clients receive it. */
export interface FlagResult {
  value: unknown;
  reason: FlagReason;
  variant?: string;
  /** The definition's version: increases with every write of this flag. */
  version: number;
}

/** A stored definition with its version. */
export type StoredFlag = FlagDefinition & { version: number };

const asList = (v: string | string[]): string[] => (typeof v === 'string' ? [v] : v);
const anyOf = (wanted: string | string[] | undefined, have: string[]): boolean => wanted === undefined || asList(wanted).some((w) => have.includes(w));

/** Roles from the `role` (string) and `roles` (string array) claims. */
function rolesOf(claims: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (typeof claims.role === 'string') out.push(claims.role);
  if (Array.isArray(claims.roles)) for (const r of claims.roles) if (typeof r === 'string') out.push(r);
  return out;
}

/** Whether `flag` is inside its `startAt`–`endAt` window at `now` (start inclusive, end exclusive). */
export function inWindow(flag: FlagDefinition, now: number): boolean {
  if (flag.startAt !== undefined && now < timeOf(flag.startAt)) return false;
  if (flag.endAt !== undefined && now >= timeOf(flag.endAt)) return false;
  return true;
}

/**
 * Evaluate one flag: disabled or outside its window → `off`; else the first rule whose conditions
 * hold and whose percentage includes the caller; else `variants` (by bucket) or `value`.
 * The bucketing id is the user, else the device; a caller with neither is in no percentage.
 */
export function evaluate(flag: StoredFlag, ctx: FlagContext, now: number): FlagResult {
  const version = flag.version;
  if (!flag.enabled || !inWindow(flag, now)) return { value: flag.off ?? false, reason: 'DISABLED', version };
  const id = ctx.user ?? ctx.device;
  const bucket = id === null ? undefined : bucketOf(flag.salt, flag.key, id);
  const roles = rolesOf(ctx.claims);
  for (const rule of flag.rules) {
    const c = rule.if;
    if (c) {
      if (!anyOf(c.env, [ctx.env])) continue;
      if (!anyOf(c.role, roles)) continue;
      if (!anyOf(c.users, ctx.user === null ? [] : [ctx.user])) continue;
      if (!anyOf(c.devices, ctx.device === null ? [] : [ctx.device])) continue;
      if (c.claims && !Object.entries(c.claims).every(([k, v]) => (Array.isArray(v) ? v : [v]).includes(ctx.claims[k] as never))) continue;
    }
    if (rule.percentage !== undefined && (bucket === undefined || bucket >= Math.round(rule.percentage * 100))) continue;
    return { value: rule.value, reason: rule.percentage !== undefined ? 'SPLIT' : 'TARGETING_MATCH', version };
  }
  if (flag.variants) {
    if (bucket !== undefined) {
      let upTo = 0;
      for (const v of flag.variants) {
        upTo += Math.round(v.weight * 100);
        if (bucket < upTo) return { value: v.value, variant: v.name, reason: 'SPLIT', version };
      }
    }
    const first = flag.variants[0]!;
    return { value: first.value, variant: first.name, reason: 'DEFAULT', version };
  }
  return { value: flag.value ?? true, reason: flag.rules.length ? 'DEFAULT' : 'STATIC', version };
}

/** Whether `flag` exists for the app of `ctx` (its `apps` list, when given, names it). */
export function inApp(flag: FlagDefinition, ctx: FlagContext): boolean {
  return flag.apps === undefined || (ctx.app !== null && flag.apps.includes(ctx.app));
}

/** Every flag of the caller's app evaluated for `ctx`, by key. */
export function evaluateAll(flags: Iterable<StoredFlag>, ctx: FlagContext, now: number): Record<string, FlagResult> {
  const out: Record<string, FlagResult> = Object.create(null);
  for (const f of flags) if (inApp(f, ctx)) out[f.key] = evaluate(f, ctx, now);
  return out;
}

/** The next `startAt` / `endAt` strictly after `now`, or `undefined`. */
export function nextBoundary(flags: Iterable<StoredFlag>, now: number): number | undefined {
  let next: number | undefined;
  for (const f of flags) {
    for (const t of [f.startAt, f.endAt]) {
      if (t === undefined) continue;
      const at = timeOf(t);
      if (at > now && (next === undefined || at < next)) next = at;
    }
  }
  return next;
}
