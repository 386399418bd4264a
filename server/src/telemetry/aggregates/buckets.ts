import type { Granularity } from './types';

export const BUCKET_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
export const GRANULARITIES: readonly Granularity[] = ['minute', 'hour', 'day'];

/** The start of the bucket holding `t` (UTC: epoch ms are UTC, and days have no leap seconds there). */
export const bucketOf = (t: number, g: Granularity): number => t - (((t % BUCKET_MS[g]) + BUCKET_MS[g]) % BUCKET_MS[g]);
