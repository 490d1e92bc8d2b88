import { Client, Connection } from '@temporalio/client';
import type { StackConfig } from '../config/env.js';
import { readRuntimeState } from '../stack/runtime-state.js';

/** TEMPORAL_ADDRESS, else the one a running `up` published, else the dev server's default port. */
export function resolveTemporalAddress(config: StackConfig): string {
  return config.TEMPORAL_ADDRESS ?? readRuntimeState(config.DATA_DIR)?.temporalAddress ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
}

export async function connectTemporalClient(config: StackConfig): Promise<Client> {
  const address = resolveTemporalAddress(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5_000 });
  } catch (error) {
    throw new Error(`cannot reach Temporal at ${address} (${(error as Error).message}); is the stack running (\`npm start\`) or TEMPORAL_ADDRESS set?`);
  }
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}
