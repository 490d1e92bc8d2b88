import { condition, setHandler } from '@temporalio/workflow';
import { MESSAGE_DESCRIPTIONS, pollNowSignal } from './messages.js';
import type { IngestionStatus, StreamIngestionInput } from '../contracts/ingestion.js';
import { StreamIngestion, runIngestion } from './stream-ingestion.js';

/**
 * `restaurant_stream_ingest_polling` (the old fallback DAG): every poll interval, page `/events?since=`
 * from its own checkpoint until caught up, through the same writer as the realtime stream.
 */
export async function restaurantStreamIngestPolling(input: StreamIngestionInput): Promise<IngestionStatus> {
  const ingestion = new StreamIngestion('polling', input);
  let pollRequested = false;
  setHandler(pollNowSignal, () => void (pollRequested = true), { description: MESSAGE_DESCRIPTIONS.pollNow });
  return runIngestion(ingestion, 'pollStream', async () => {
    if (ingestion.lastReport?.caughtUp === false) return;
    ingestion.state = 'waiting for next poll';
    ingestion.publishDetails();
    await condition(() => pollRequested || ingestion.paused !== null, `${ingestion.tuning.pollIntervalSeconds} seconds`);
    pollRequested = false;
  });
}
