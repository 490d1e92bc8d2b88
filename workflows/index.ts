export { restaurantRealtimeStream } from './realtime-stream.js';
export { restaurantStreamIngestPolling } from './polling-ingest.js';
export { restaurantMaintenance } from './maintenance.js';
export { restaurantReprocess } from './reprocess.js';
