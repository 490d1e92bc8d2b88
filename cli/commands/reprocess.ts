import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { z } from 'zod';
import { ConfigError } from '../../config/env.js';
import { REPROCESS_WORKFLOW_TYPE } from '../../contracts/reprocess.js';
import { reprocessInputSchema, type ReprocessBound, type ReprocessInput, type ReprocessProgress } from '../../contracts/reprocess.js';
import { parseOption } from '../options.js';
import { withTemporalClient } from '../with-temporal.js';

/** An offset (a whole number) or a time (anything Date understands, e.g. 2026-11-01 or 2026-11-01T06:00:00Z). */
function parseBound(flag: string, value: string): ReprocessBound {
  if (/^\d+$/.test(value)) return { offset: Number(value) };
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new ConfigError(`invalid ${flag} ${JSON.stringify(value)}: expected an offset (a whole number) or a time such as 2026-11-01T06:00:00Z`);
  return { time: new Date(time).toISOString() };
}

const formatProgress = (progress: ReprocessProgress) =>
  `${progress.state}: ${progress.totals.chunks} chunks, ${progress.totals.events} events read, ${progress.totals.applied} applied, ${progress.totals.skipped} skipped` +
  (progress.range ? ` (${progress.range.from} → ${progress.range.to})` : '');

export function reprocessCommand(): Command {
  return new Command('reprocess')
    .description(
      'Re-derive facts and rollups from raw_data.events_raw over a range, with the worker’s current processors, while realtime ingestion goes on (a Temporal workflow: progress in the Web UI, `pause`/`resume` signals).',
    )
    .requiredOption('--from <offset|time>', 'where to start: an offset of --stream, or an event time')
    .option('--to <offset|time>', 'where to stop (inclusive offset, exclusive time; default: now)')
    .option('--stream <name>', 'only this stream’s events (needed for offsets), e.g. restaurant_realtime_stream')
    .option('--chunk-events <n>', 'events per chunk, each one transaction', '2000')
    .option('--wait', 'wait for the run to finish and print its totals')
    .action(async (options: { from: string; to?: string; stream?: string; chunkEvents: string; wait?: boolean }) => {
      const input: ReprocessInput = {
        from: parseBound('--from', options.from),
        to: options.to === undefined ? undefined : parseBound('--to', options.to),
        stream: options.stream,
        chunkEvents: parseOption('--chunk-events', z.coerce.number().int().min(1).max(20_000), options.chunkEvents),
      };
      const checked = reprocessInputSchema.safeParse(input);
      if (!checked.success) throw new ConfigError(`invalid reprocess request: ${checked.error.issues[0]?.message ?? 'invalid'}`);
      await withTemporalClient(async (client, config) => {
        const workflowId = `restaurant_reprocess-${randomBytes(4).toString('hex')}`;
        const handle = await client.workflow.start(REPROCESS_WORKFLOW_TYPE, { workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input] });
        console.log(`started ${workflowId}; pause with: temporal workflow signal --workflow-id ${workflowId} --name pause`);
        if (options.wait) console.log(formatProgress((await handle.result()) as ReprocessProgress));
      });
    });
}
