import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { INGEST_HISTOGRAM_BUCKETS } from '../activities/ingestion/metrics.js';
import type { Logger, LogLevel } from '../telemetry/logger.js';

const SDK_LEVELS = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;
let installed = false;

/**
 * Routes the Temporal SDK's own logs (worker state, workflow and activity failures) through our JSON
 * logger at our level. The SDK runtime is process-wide and can be installed once.
 */
export function installTemporalRuntime(logger: Logger, level: LogLevel, metricsBindAddress?: string): void {
  if (installed) return;
  installed = true;
  const forward = ({ level: sdkLevel, message, meta }: LogEntry) => {
    const fields = { sdk: true, ...meta };
    if (sdkLevel === 'ERROR') logger.error(message, fields);
    else if (sdkLevel === 'WARN') logger.warn(message, fields);
    else if (sdkLevel === 'INFO') logger.info(message, fields);
    else logger.debug(message, fields);
  };
  // Signals are ours to handle (see cli/lifecycle.ts): we end sessions before the SDK drains.
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVELS[level], forward),
    shutdownSignals: [],
    // One Prometheus endpoint: the SDK's runtime metrics and our ingestion figures (activities/ingestion/metrics.ts).
    telemetryOptions: metricsBindAddress
      ? { metrics: { prometheus: { bindAddress: metricsBindAddress, countersTotalSuffix: true, histogramBucketOverrides: INGEST_HISTOGRAM_BUCKETS } } }
      : undefined,
  });
}
