import type { StoredEvent, TelemetrySink } from '../sink';

export interface OtlpExporterOptions {
  /** The collector's OTLP/HTTP logs endpoint, e.g. `http://collector:4318/v1/logs`. Required. */
  url: string;
  /** Extra request headers (an API key of a hosted collector). Default none. */
  headers?: Record<string, string>;
  /** Abort a request after this many ms (the upload then fails and the client retries). Default `10000`. */
  timeout?: number;
  /** For tests and special hosts. Default the global `fetch`. */
  fetch?: typeof fetch;
}

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
const attr = (key: string, v: unknown): { key: string; value: AnyValue } | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return { key, value: { stringValue: v } };
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  if (typeof v === 'number') return { key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } };
  return { key, value: { stringValue: JSON.stringify(v) } };
};
const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);
const nanos = (ms: number) => `${Math.round(ms)}000000`;

/** One OTLP `ExportLogsServiceRequest` (JSON encoding): a resource per app, env and release. */
export function otlpLogsBody(events: readonly StoredEvent[]): unknown {
  const groups = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const k = `${e.app}\u0000${e.env}\u0000${e.release ?? ''}`;
    const g = groups.get(k);
    if (g) g.push(e);
    else groups.set(k, [e]);
  }
  return {
    resourceLogs: [...groups.values()].map((g) => ({
      resource: {
        attributes: defined([attr('service.name', g[0]!.app), attr('deployment.environment', g[0]!.env), attr('service.version', g[0]!.release)]),
      },
      scopeLogs: [
        {
          scope: { name: 'sdk-realtime.telemetry' },
          logRecords: g.map((e) => ({
            timeUnixNano: nanos(Number(e.ts)),
            observedTimeUnixNano: nanos(e.receivedAt),
            // ERROR for error events, INFO for the rest (OTLP severity numbers).
            severityNumber: e.type === 'error' ? 17 : 9,
            severityText: e.type === 'error' ? 'ERROR' : 'INFO',
            body: { stringValue: String(e.name) },
            attributes: defined([
              attr('telemetry.type', e.type),
              attr('session.id', e.sessionId),
              attr('user.id', e.userId),
              attr('telemetry.rate', e.rate),
              ...Object.entries((e.props ?? {}) as Record<string, unknown>).map(([k, v]) => attr(`props.${k}`, v)),
            ]),
          })),
        },
      ],
    })),
  };
}

/**
 * A sink that exports events as OTLP/HTTP JSON logs to an OpenTelemetry collector (one POST per
 * batch; a non-2xx answer fails the upload, which the client retries). A sink only: it keeps no
 * aggregates. Combine it with a store through `teeSink`. A bad option throws a TypeError naming it.
 */
export function otlpExporter(options: OtlpExporterOptions): TelemetrySink {
  const bad = (name: string, what: string) => new TypeError(`sdk-realtime server: option "otlpExporter${name ? '.' + name : ''}" must be ${what}`);
  if (typeof options !== 'object' || options === null) throw bad('', 'an object');
  const { url, headers = {}, timeout = 10_000 } = options;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw bad('url', 'an http(s) URL');
  if (typeof headers !== 'object' || headers === null || Object.values(headers).some((v) => typeof v !== 'string')) throw bad('headers', 'an object of strings');
  if (!Number.isInteger(timeout) || timeout < 1) throw bad('timeout', 'a positive integer (ms)');
  const send = options.fetch ?? fetch;
  return {
    async write(events) {
      const res = await send(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(otlpLogsBody(events)),
        signal: AbortSignal.timeout(timeout),
      });
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`OTLP collector answered ${res.status}`);
    },
  };
}
