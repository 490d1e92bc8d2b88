import { readFileSync } from 'node:fs';
import { ConfigError, type StackConfig } from './env.js';

/** Where a Temporal client or worker connects, and how it proves who it is. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  /** false: plaintext (the dev server). Otherwise TLS, with a private CA, server name and client pair when given. */
  tls:
    | false
    | {
        serverNameOverride?: string;
        serverRootCACertificate?: Buffer;
        clientCertPair?: { crt: Buffer; key: Buffer };
      };
  /** Temporal Cloud API key, sent as a bearer token. */
  apiKey?: string;
}

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/**
 * The connection the configuration describes. TLS is on when TEMPORAL_TLS says so, or when a CA, a
 * client certificate or an API key is given (Temporal Cloud takes API keys over TLS only).
 */
export function temporalTarget(config: StackConfig, address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`): TemporalTarget {
  const wantsTls =
    config.TEMPORAL_TLS ?? Boolean(config.TEMPORAL_TLS_CA_PATH || config.TEMPORAL_TLS_CERT_PATH || config.TEMPORAL_API_KEY || config.TEMPORAL_TLS_SERVER_NAME);
  return {
    address,
    namespace: config.TEMPORAL_NAMESPACE,
    apiKey: config.TEMPORAL_API_KEY,
    tls: wantsTls
      ? {
          serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME,
          serverRootCACertificate: config.TEMPORAL_TLS_CA_PATH ? readPem('TEMPORAL_TLS_CA_PATH', config.TEMPORAL_TLS_CA_PATH) : undefined,
          clientCertPair:
            config.TEMPORAL_TLS_CERT_PATH && config.TEMPORAL_TLS_KEY_PATH
              ? { crt: readPem('TEMPORAL_TLS_CERT_PATH', config.TEMPORAL_TLS_CERT_PATH), key: readPem('TEMPORAL_TLS_KEY_PATH', config.TEMPORAL_TLS_KEY_PATH) }
              : undefined,
        }
      : false,
  };
}

/** The target as the SDK's Connection and NativeConnection take it. */
export function connectionOptions(target: TemporalTarget) {
  return { address: target.address, tls: target.tls, apiKey: target.apiKey };
}
