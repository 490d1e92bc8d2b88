import { readFileSync } from 'node:fs';
import { ConfigError, givenName, type StackConfig } from './env.js';

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

/** A certificate or key, from its PEM text or its file (the name given is the one an error names). */
function pem(config: StackConfig, kind: 'CA' | 'CERT' | 'KEY'): Buffer | undefined {
  const data = config[`TEMPORAL_TLS_${kind}_DATA`];
  if (data) return Buffer.from(data);
  const file = config[`TEMPORAL_TLS_${kind}_PATH`];
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    const variable = givenName(config, `TEMPORAL_TLS_${kind}_PATH`);
    throw new ConfigError(`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/**
 * The connection the configuration describes (the `temporal` CLI's names already read into ours by
 * loadConfig). TLS is on when TEMPORAL_TLS says so, or when a CA, a client certificate, a server name or
 * an API key is given (Temporal Cloud takes API keys over TLS only).
 */
export function temporalTarget(config: StackConfig, address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`): TemporalTarget {
  const serverRootCACertificate = pem(config, 'CA');
  const crt = pem(config, 'CERT');
  const key = pem(config, 'KEY');
  const wantsTls = config.TEMPORAL_TLS ?? Boolean(serverRootCACertificate || crt || config.TEMPORAL_API_KEY || config.TEMPORAL_TLS_SERVER_NAME);
  return {
    address,
    namespace: config.TEMPORAL_NAMESPACE,
    apiKey: config.TEMPORAL_API_KEY,
    tls: wantsTls ? { serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME, serverRootCACertificate, clientCertPair: crt && key ? { crt, key } : undefined } : false,
  };
}

/** The target as the SDK's Connection and NativeConnection take it. */
export function connectionOptions(target: TemporalTarget) {
  return { address: target.address, tls: target.tls, apiKey: target.apiKey };
}
