import type { Client } from '@temporalio/client';
import { loadConfig, type StackConfig } from '../config/env.js';
import { temporalTarget } from '../config/temporal.js';
import { readRuntimeState } from '../stack/runtime-state.js';

/** Runs `run` with a Temporal client (TEMPORAL_ADDRESS, else the running stack's, else the dev server's port), closed afterwards. */
export async function withTemporalClient<T>(run: (client: Client, config: StackConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const address = config.TEMPORAL_ADDRESS ?? readRuntimeState(config.DATA_DIR)?.temporalAddress;
  const { connectTemporalClient } = await import('../clients/temporal.js');
  const client = await connectTemporalClient(temporalTarget(config, address));
  try {
    return await run(client, config);
  } finally {
    await client.connection.close();
  }
}
