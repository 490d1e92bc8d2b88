import { Client, Connection } from '@temporalio/client';
import { connectionOptions, type TemporalTarget } from '../config/temporal.js';

export async function connectTemporalClient(target: TemporalTarget): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(target), connectTimeout: 5_000 });
  } catch (error) {
    throw new Error(`cannot reach Temporal at ${target.address} (${(error as Error).message}); is the stack running (\`npm start\`) or TEMPORAL_ADDRESS set?`, { cause: error });
  }
  return new Client({ connection, namespace: target.namespace });
}
