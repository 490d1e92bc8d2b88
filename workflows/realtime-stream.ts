import { StreamIngestion, runIngestion } from './stream-ingestion.js';
import type { IngestionStatus, StreamIngestionInput } from '../contracts/ingestion.js';

/**
 * `restaurant_realtime_stream` (the old DAG's id): a durable loop of SSE consume sessions, each
 * writing batches from the checkpointed offset and handing back the committed position.
 */
export async function restaurantRealtimeStream(input: StreamIngestionInput): Promise<IngestionStatus> {
  return runIngestion(new StreamIngestion('realtime', input), 'consumeStream');
}
