#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { canPublishShared, createServer, redisBroker } from './index';
import { telemetryFromFlags } from './telemetry/cli-options';

const USAGE = `Usage: sdk-realtime-server serve [options]

Options:
  --port <n>          TCP port (default 8080; 0 picks a free one)
  --host <addr>       interface to listen on (default 127.0.0.1)
  --dev               development mode: /dev/token, the demo page at /, dev defaults for secrets,
                      client publishes to shared topics, RPC method "time"
  --allow-publish     let clients publish to shared topics (never to user:/device: streams);
                      on by default with --dev
  --jwt-secret <s>    HS256 secret for client tokens (env SDK_REALTIME_JWT_SECRET)
  --api-key <k>       API key for POST /notify (env SDK_REALTIME_API_KEY)
  --jwks <url>        verify client tokens against this JWKS instead of a secret
  --audience <aud>    accepted token audience (repeatable; required with --jwks unless --issuer)
  --issuer <iss>      accepted token issuer (repeatable)
  --any-app           accept tokens without an "app" claim on every app
  --app <id>          allowed app id (repeatable; default any app)
  --trust-proxy       take client IPs from X-Forwarded-For (only behind your own proxy)
  --cors-origin <o>   origin allowed to call /notify from a browser (repeatable; '*' for any)
  --max-connections <n>         open connections in all (default 10000)
  --max-connections-per-ip <n>  open connections per client IP (default 100)
  --redis <url>       one of several nodes sharing this Redis (env SDK_REALTIME_REDIS_URL); default in-memory
  --presence-ttl <ms> with --redis: how long a crashed node's connections stay in online counts (default 30000)
  --flags <file>      feature flags from this JSON file, watched and reloaded (docs/flags.md)
  --flags-env <name>  environment name flag rules match (default NODE_ENV, else production)
  --flags-redis       with --redis: keep flags in that Redis, shared by every node (instead of --flags)
  --socket-io         mount the socket.io bridge on the same port (path /socket.io/; docs/socketio.md)
  --socket-io-trust-client-headers
                      socket.io: take x-client-id / x-device-id as the identity when no token is sent
                      (only behind a gateway that sets them; anyone else can claim any user)
  --telemetry-sqlite <file>     telemetry ingestion into this SQLite file, with aggregates
                      (GET /api/telemetry/aggregates; default with --dev: ./.sdk-realtime/telemetry.db)
  --telemetry-postgres <url>    telemetry into PostgreSQL, for several nodes (env SDK_REALTIME_TELEMETRY_POSTGRES_URL)
  --telemetry-dir <dir>         telemetry as NDJSON files in this directory (also beside a store)
  --telemetry-otlp <url>        also export telemetry to an OpenTelemetry collector (OTLP/HTTP logs URL)
  --telemetry-retention-days <n> raw telemetry events kept this many days (default 30)
  --alerts <file>     alert rules (JSON {"rules": [...]}) evaluated on the telemetry store (docs/telemetry-alerts.md)
  --no-telemetry      with --dev: no telemetry ingestion
  -h, --help          show this help
`;

/** The dev-mode API key used when `--dev` is given without one. */
const DEV_API_KEY = 'dev-api-key';

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        dev: { type: 'boolean' },
        'allow-publish': { type: 'boolean' },
        'jwt-secret': { type: 'string' },
        'api-key': { type: 'string' },
        jwks: { type: 'string' },
        redis: { type: 'string' },
        'presence-ttl': { type: 'string' },
        audience: { type: 'string', multiple: true },
        issuer: { type: 'string', multiple: true },
        'any-app': { type: 'boolean' },
        app: { type: 'string', multiple: true },
        'trust-proxy': { type: 'boolean' },
        'cors-origin': { type: 'string', multiple: true },
        'max-connections': { type: 'string' },
        'max-connections-per-ip': { type: 'string' },
        'socket-io': { type: 'boolean' },
        flags: { type: 'string' },
        'flags-env': { type: 'string' },
        'flags-redis': { type: 'boolean' },
        'socket-io-trust-client-headers': { type: 'boolean' },
        'telemetry-sqlite': { type: 'string' },
        'telemetry-postgres': { type: 'string' },
        'telemetry-dir': { type: 'string' },
        'telemetry-otlp': { type: 'string' },
        'telemetry-retention-days': { type: 'string' },
        'no-telemetry': { type: 'boolean' },
        alerts: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals[0] !== 'serve' || positionals.length > 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be an integer between 0 and 65535\n`);
    return 2;
  }
  const dev = values.dev === true;
  const jwtSecret = values['jwt-secret'] ?? process.env.SDK_REALTIME_JWT_SECRET ?? undefined;
  let apiKey = values['api-key'] ?? process.env.SDK_REALTIME_API_KEY ?? undefined;
  if (!dev && !jwtSecret && !values.jwks) {
    process.stderr.write('a JWT secret is required: --jwt-secret or SDK_REALTIME_JWT_SECRET (or --jwks, or --dev)\n');
    return 2;
  }
  const count = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`--${flag} must be a positive integer`);
    return n;
  };
  const cors = values['cors-origin'];
  if (dev && !apiKey) apiKey = DEV_API_KEY;

  const socketIo = values['socket-io'] === true || values['socket-io-trust-client-headers'] === true;
  const redisUrl = values.redis ?? process.env.SDK_REALTIME_REDIS_URL ?? undefined;
  if (values['flags-redis'] && (!redisUrl || values.flags !== undefined)) {
    process.stderr.write('--flags-redis needs --redis (or SDK_REALTIME_REDIS_URL) and no --flags file\n');
    return 2;
  }
  const flagsEnv = values['flags-env'];
  const telemetry = telemetryFromFlags(
    {
      sqlite: values['telemetry-sqlite'],
      postgres: values['telemetry-postgres'] ?? (process.env.SDK_REALTIME_TELEMETRY_POSTGRES_URL || undefined),
      dir: values['telemetry-dir'],
      otlp: values['telemetry-otlp'],
      retentionDays: count('telemetry-retention-days', values['telemetry-retention-days']),
      alerts: values.alerts,
      off: values['no-telemetry'] === true,
    },
    dev,
  );
  const server = await createServer({
    telemetry: telemetry?.options,
    broker: redisUrl ? redisBroker({ url: redisUrl, presenceTtl: count('presence-ttl', values['presence-ttl']) }) : undefined,
    port,
    host: values.host ?? '127.0.0.1',
    dev,
    demo: dev,
    jwtSecret: jwtSecret || undefined,
    apiKey: apiKey || undefined,
    jwks: values.jwks,
    apps: values.app,
    trustProxy: values['trust-proxy'] === true,
    corsOrigins: cors === undefined ? undefined : cors.includes('*') ? '*' : cors,
    maxConnections: count('max-connections', values['max-connections']),
    maxConnectionsPerIp: count('max-connections-per-ip', values['max-connections-per-ip']),
    // Without the flag the library default applies: shared topics in dev mode, no client publishes otherwise.
    canPublish: values['allow-publish'] === true ? canPublishShared : undefined,
    tokens: { audience: values.audience, issuer: values.issuer, anyApp: values['any-app'] === true },
    flags:
      values.flags !== undefined
        ? { file: values.flags, env: flagsEnv }
        : values['flags-redis'] && redisUrl
          ? { redis: { url: redisUrl }, env: flagsEnv }
          : undefined,
    socketIo: socketIo && { trustClientHeaders: values['socket-io-trust-client-headers'] === true },
  });
  const out = (line: string) => process.stdout.write(line + '\n');
  out(`sdk-realtime server listening`);
  out(`  WebSocket: ${server.url}`);
  out(`  HTTP:      ${server.httpUrl}  (POST /notify, GET /healthz, GET /metrics)`);
  if (socketIo) out(`  socket.io: ${server.httpUrl}/<appId>  (path /socket.io/${values['socket-io-trust-client-headers'] ? '; trusting x-client-id / x-device-id headers' : ''})`);
  // The URL without its password.
  if (values.flags !== undefined) out(`  Flags:     ${values.flags} (watched; GET /api/flags, PUT/DELETE /api/flags/:key with the API key)`);
  if (values['flags-redis']) out('  Flags:     in Redis, shared by every node (GET /api/flags, PUT/DELETE /api/flags/:key with the API key)');
  if (telemetry) out(`  Telemetry: ${telemetry.describe} (POST /api/telemetry/batch${telemetry.options.store ? '; GET /api/telemetry/aggregates with the API key' : ''})`);
  if (telemetry?.options.dashboard) out(`  Dashboard: ${server.httpUrl}/dashboard${dev ? ' (open in dev mode)' : ' (with the API key)'}`);
  if (values.alerts) out(`  Alerts:    ${values.alerts} (admin API under /api/telemetry/alerts with the API key)`);
  if (redisUrl) out(`  Broker:    redis ${redisUrl.replace(/\/\/[^@/]*@/, '//…@')}`);
  if (dev) {
    out(`  Demo:      ${server.httpUrl}/`);
    out(`  Dev token: POST ${server.httpUrl}/dev/token {"app","user"}`);
    out(`  API key:   ${apiKey}${apiKey === DEV_API_KEY ? ' (development default)' : ''}`);
    out(`  WARNING: development mode. Do not expose this server in production.`);
  }
  if (dev || values['allow-publish']) out('  Clients may publish to shared topics (not to user:/device: streams).');
  if (!apiKey) out('  (no API key: POST /notify is disabled; set --api-key or SDK_REALTIME_API_KEY)');

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      out(`${signal}: closing connections...`);
      server.close().then(resolve, resolve);
      setTimeout(resolve, 5000).unref();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`sdk-realtime: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
