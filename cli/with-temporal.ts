import type { Client } from '@temporalio/client';
import { loadConfig, type StackConfig } from '../config/env.js';
import { temporalTarget, type TemporalTarget } from '../config/temporal.js';
import { readRuntimeState } from '../stack/runtime-state.js';

/** Where the CLI connects: TEMPORAL_ADDRESS, else the running stack's, else the dev server's port. */
export function configuredTemporalTarget(config: StackConfig): TemporalTarget {
  return temporalTarget(config, config.TEMPORAL_ADDRESS ?? readRuntimeState(config.DATA_DIR)?.temporalAddress);
}

/** Runs `run` with a Temporal client (see configuredTemporalTarget), closed afterwards. */
export async function withTemporalClient<T>(run: (client: Client, config: StackConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { connectTemporalClient } = await import('../clients/temporal.js');
  const client = await connectTemporalClient(configuredTemporalTarget(config));
  try {
    return await run(client, config);
  } finally {
    await client.connection.close();
  }
}
