import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_SOURCE_LIMITS, DEFAULT_TUNING } from '../contracts/ingestion.js';
import { sourceHeadersSchema } from '../contracts/source-credentials.js';
import { describeIssues } from '../events/issues.js';
import { LOG_LEVELS } from '../telemetry/logger.js';

const configDir = path.dirname(fileURLToPath(import.meta.url));
/** The checkout (or installed package): one level up from config/, two from the compiled dist/config/. */
export const projectRoot = path.resolve(configDir, path.basename(path.dirname(configDir)) === 'dist' ? '../..' : '..');
/** Whether this process runs the compiled code of `npm run build` rather than the TypeScript sources. */
export const runsCompiled = path.basename(path.dirname(configDir)) === 'dist';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();
const optionalUrl = optionalText.pipe(z.url().optional());
const folder = (fallback: string) =>
  optionalText.transform((value) => path.resolve(projectRoot, value ?? fallback));
/** A setting that names a file the process reads: a deployment must put the file where it points (compose mounts it). */
const fileSetting = <T extends z.ZodType>(schema: T) => schema.meta({ namesFile: true });
const pemFile = fileSetting(optionalText);
const booleanText = optionalText.pipe(z.stringbool().optional());

/** Whether a setting of the schema names a file (see fileSetting). */
export const namesFile = (setting: z.ZodType): boolean => setting.meta()?.namesFile === true;

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Every setting the stack reads from its environment. An external component named here
 * (DATABASE_URL, TEMPORAL_ADDRESS, RESTAURANT_API_URL) replaces the embedded one.
 */
export const environmentSchema = z.object({
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DATA_DIR: folder('.data'),
  TOOLS_DIR: folder('.tools'),

  DATABASE_URL: optionalUrl,
  WAREHOUSE_DATABASE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier')
    .default('restaurant_analytics'),
  /** The zone of a location whose code names no Canadian province (LOC-IN-001); `locations set` sets any one's. */
  WAREHOUSE_TIME_ZONE: z
    .string()
    .trim()
    .refine(isTimeZone, { error: 'an IANA time zone such as America/Toronto or Asia/Kolkata' })
    .default('America/Toronto'),
  EMBEDDED_POSTGRES_PORT: port.default(54329),
  RESTAURANT_DB_PASSWORD: optionalText,
  ETL_DB_PASSWORD: optionalText,
  ANALYTICS_READER_PASSWORD: optionalText,

  TEMPORAL_ADDRESS: optionalText.pipe(
    z
      .string()
      .regex(/^[^\s:/]+:\d+$/, 'host:port, e.g. 127.0.0.1:7233')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /**
   * TLS to Temporal (Temporal Cloud, secured clusters). TEMPORAL_TLS, _SERVER_NAME, _DISABLE_HOST_VERIFICATION
   * and TEMPORAL_API_KEY are the `temporal` CLI's names too; the certificates and key also go by the CLI's
   * names (TEMPORAL_TLS_NAMES below), PEM files (_PATH) or PEM text (_DATA).
   */
  TEMPORAL_TLS: booleanText,
  TEMPORAL_TLS_CA_PATH: pemFile,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: pemFile,
  TEMPORAL_TLS_CA: pemFile,
  TEMPORAL_TLS_CA_DATA: optionalText,
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: optionalText,
  TEMPORAL_TLS_CERT_PATH: pemFile,
  TEMPORAL_TLS_CLIENT_CERT_PATH: pemFile,
  TEMPORAL_TLS_CERT: pemFile,
  TEMPORAL_TLS_CERT_DATA: optionalText,
  TEMPORAL_TLS_CLIENT_CERT_DATA: optionalText,
  TEMPORAL_TLS_KEY_PATH: pemFile,
  TEMPORAL_TLS_CLIENT_KEY_PATH: pemFile,
  TEMPORAL_TLS_KEY: pemFile,
  TEMPORAL_TLS_KEY_DATA: optionalText,
  TEMPORAL_TLS_CLIENT_KEY_DATA: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  /** The `temporal` CLI's; refused when true (the SDK cannot skip host verification: give the CA and server name). */
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: booleanText,
  TEMPORAL_API_KEY: optionalText,
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('restaurant-ingest'),
  TEMPORAL_CLI: optionalText,
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),

  RESTAURANT_API_URL: optionalUrl,
  /** Sent as `Authorization: Bearer …` to the source (`/stream`, `/events`, `/health`). */
  RESTAURANT_API_TOKEN: optionalText,
  /** Further headers for the source, as a JSON object, e.g. {"X-Api-Key":"…"}. */
  RESTAURANT_API_HEADERS: optionalText.pipe(sourceHeadersSchema.optional()),
  /** The built-in event API requires this bearer token on `/stream` and `/events` when set. */
  API_TOKEN: optionalText,
  API_PORT: port.default(8000),
  API_RATE: positiveInt.default(200),
  API_SEED: optionalText,

  WORKER_SHUTDOWN_GRACE_SECONDS: positiveInt.default(10),
  EVENT_PROCESSORS_MODULE: optionalText,

  REALTIME_WORKFLOW_ID: z.string().min(1).default('restaurant_realtime_stream'),
  POLLING_WORKFLOW_ID: z.string().min(1).default('restaurant_stream_ingest_polling'),
  /** Several feeds, one workflow each (see config/streams.ts); default `streams.yaml` when it exists. */
  STREAMS_FILE: fileSetting(optionalText.transform((value) => (value === undefined ? undefined : path.resolve(projectRoot, value)))),
  /** Ingestion sessions one worker runs at once: activity slots, each session's feed mostly waiting on the source. */
  WORKER_MAX_SESSIONS: positiveInt.default(500),
  /**
   * The worker's warehouse connections, whatever the number of sessions: three serve its presence, the
   * abandoned-session watch and the short activities; the sessions' batches borrow the others one at a time.
   */
  WORKER_DB_CONNECTIONS: z.coerce.number().int().min(4).default(16),
  /** What `up` starts: the realtime stream, the polling fallback, or nothing. */
  INGEST_MODE: z.enum(['realtime', 'polling', 'none']).default('realtime'),
  POLL_INTERVAL_SECONDS: positiveInt.default(DEFAULT_TUNING.pollIntervalSeconds),
  INGEST_MAX_BATCH_EVENTS: positiveInt.default(DEFAULT_TUNING.maxBatchEvents),
  INGEST_MAX_BATCH_WAIT_MS: positiveInt.default(DEFAULT_TUNING.maxBatchWaitMs),
  INGEST_SESSION_SECONDS: positiveInt.default(DEFAULT_TUNING.sessionSeconds),
  INGEST_PAGE_SIZE: z.coerce.number().int().min(1).max(5000).default(DEFAULT_TUNING.pageSize),
  INGEST_MAX_EVENT_BYTES: z.coerce.number().int().min(1_024).default(DEFAULT_SOURCE_LIMITS.maxEventBytes),
  INGEST_MAX_PAGE_BYTES: z.coerce.number().int().min(64 * 1024).default(DEFAULT_SOURCE_LIMITS.maxPageBytes),

  MAINTENANCE_SCHEDULE_ID: z.string().min(1).default('restaurant_maintenance'),
  MAINTENANCE_INTERVAL_MINUTES: positiveInt.default(15),
  RAW_RETENTION_DAYS: positiveInt.default(7),
  RETENTION_CHUNK_ROWS: positiveInt.default(5000),
  RETENTION_MAX_CHUNKS: positiveInt.default(2000),

  /** The worker's Prometheus endpoint (SDK runtime metrics and ingestion figures); 0 turns it off. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),

  /** `restaurant-stack metabase`: the instance to provision and its admin. */
  MB_URL: optionalUrl.transform((url) => url ?? 'http://localhost:3000'),
  MB_ADMIN_EMAIL: optionalText.pipe(z.email().optional()),
  MB_ADMIN_PASSWORD: optionalText,
  /** A Metabase API key (v0.49+), sent as x-api-key instead of signing in as the admin. */
  MB_API_KEY: optionalText,
});

export type StackConfig = z.infer<typeof environmentSchema>;

/**
 * The certificates and key of TLS to Temporal under every name they go by: ours first, then the current
 * `temporal` CLI's (v1.4 and later), then v1.x's (the CLI of the compose admin-tools image). Our _DATA
 * names are v1.x's. When several names of one setting are given they must agree; the value is read into ours.
 */
export const TEMPORAL_TLS_NAMES = {
  TEMPORAL_TLS_CA_PATH: ['TEMPORAL_TLS_CA_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CA'],
  TEMPORAL_TLS_CA_DATA: ['TEMPORAL_TLS_CA_DATA', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA'],
  TEMPORAL_TLS_CERT_PATH: ['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CERT'],
  TEMPORAL_TLS_CERT_DATA: ['TEMPORAL_TLS_CERT_DATA', 'TEMPORAL_TLS_CLIENT_CERT_DATA'],
  TEMPORAL_TLS_KEY_PATH: ['TEMPORAL_TLS_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_KEY'],
  TEMPORAL_TLS_KEY_DATA: ['TEMPORAL_TLS_KEY_DATA', 'TEMPORAL_TLS_CLIENT_KEY_DATA'],
} as const satisfies Partial<Record<keyof StackConfig, ReadonlyArray<keyof StackConfig>>>;
export type TemporalTlsSetting = keyof typeof TEMPORAL_TLS_NAMES;

/** The name a TLS setting was given under (a `temporal` CLI name, else ours), for messages about its value. */
export function givenName(config: StackConfig, setting: TemporalTlsSetting): string {
  const [, ...cliNames] = TEMPORAL_TLS_NAMES[setting];
  return cliNames.find((name) => config[name] !== undefined) ?? setting;
}

type Refinement = z.core.$RefinementCtx<StackConfig>;
/** Variables whose values an error never shows (PEM text included: a key's is secret). */
const SECRET_VARIABLE = /PASSWORD|TOKEN|API_KEY|HEADERS|_DATA$/;

/** Reads the `temporal` CLI's names into ours; two names of one setting with different values are refused, naming both. */
function readTemporalCliNames(config: StackConfig, context: Refinement): StackConfig {
  const read = { ...config };
  for (const [setting, names] of Object.entries(TEMPORAL_TLS_NAMES) as Array<[TemporalTlsSetting, readonly TemporalTlsSetting[]]>) {
    const given = names.filter((name) => config[name] !== undefined);
    const [first, ...others] = given;
    if (first === undefined) continue;
    const differing = others.find((name) => config[name] !== config[first]);
    if (differing) {
      const firstValue = SECRET_VARIABLE.test(first) ? '' : ` (${config[first]})`;
      context.addIssue({ code: 'custom', path: [differing], message: `names the same setting as ${first}${firstValue} with another value: give one of them` });
    }
    read[setting] = config[first];
  }
  return read;
}

function checkTemporalTls(config: StackConfig, context: Refinement): void {
  for (const kind of ['CA', 'CERT', 'KEY'] as const) {
    const [file, data] = [`TEMPORAL_TLS_${kind}_PATH`, `TEMPORAL_TLS_${kind}_DATA`] as const;
    if (config[file] && config[data]) {
      context.addIssue({ code: 'custom', path: [givenName(config, data)], message: `and ${givenName(config, file)} both give it: give the file or the PEM text` });
    }
  }
  const hasCert = Boolean(config.TEMPORAL_TLS_CERT_PATH || config.TEMPORAL_TLS_CERT_DATA);
  if (hasCert !== Boolean(config.TEMPORAL_TLS_KEY_PATH || config.TEMPORAL_TLS_KEY_DATA)) {
    const missing = hasCert ? 'TEMPORAL_TLS_KEY_PATH' : 'TEMPORAL_TLS_CERT_PATH';
    context.addIssue({ code: 'custom', path: [missing], message: 'mTLS needs both TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH (or their _DATA or `temporal` CLI names)' });
  }
  if (config.TEMPORAL_TLS === false && (config.TEMPORAL_TLS_CA_PATH || config.TEMPORAL_TLS_CA_DATA || hasCert || config.TEMPORAL_API_KEY)) {
    context.addIssue({ code: 'custom', path: ['TEMPORAL_TLS'], message: 'is false, but TLS settings or an API key are given' });
  }
  if (config.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION) {
    context.addIssue({
      code: 'custom',
      path: ['TEMPORAL_TLS_DISABLE_HOST_VERIFICATION'],
      message: 'the Temporal SDK of the worker and this CLI cannot skip host verification: give the CA that signed the server certificate (TEMPORAL_TLS_CA_PATH) and the name it carries (TEMPORAL_TLS_SERVER_NAME)',
    });
  }
}

const configSchema = environmentSchema.transform(readTemporalCliNames).superRefine(checkTemporalTls);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads `.env` from the project root (real environment variables win) and validates everything. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const dotenv = path.join(projectRoot, '.env');
  if (env === process.env && existsSync(dotenv)) process.loadEnvFile(dotenv);
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    // An error names a secret variable but never shows its value.
    const shown = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, SECRET_VARIABLE.test(name) ? undefined : value]));
    throw new ConfigError(`invalid configuration: ${describeIssues(parsed.error, shown, { root: 'environment', limit: Infinity })}`);
  }
  return parsed.data;
}
