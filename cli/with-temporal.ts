import type { Client } from '@temporalio/client';
import { loadConfig, type StackConfig } from '../config/env.js';

/** Runs `run` with a Temporal client (TEMPORAL_ADDRESS, or the running stack's), closed afterwards. */
export async function withTemporalClient<T>(run: (client: Client, config: StackConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { connectTemporalClient } = await import('../clients/temporal.js');
  const client = await connectTemporalClient(config);
  try {
    return await run(client, config);
  } finally {
    await client.connection.close();
  }
}
