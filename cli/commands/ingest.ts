import { Command, Option } from 'commander';
import { z } from 'zod';
import type { StackConfig } from '../../config/env.js';
import type { Client } from '@temporalio/client';
import { readRuntimeState } from '../../stack/runtime-state.js';
import { INGEST_MODES, type IngestMode, type IngestionStatus } from '../../contracts/ingestion.js';
import { parseOption } from '../options.js';
import type * as ControlModule from '../../clients/ingestion-control.js';
import { withTemporalClient } from '../with-temporal.js';
import { formatStatus } from './status-format.js';

const offset = z.coerce.number().int().min(0);
type Control = typeof ControlModule;
const modeOption = () => new Option('--mode <mode>', 'which workflow: realtime or polling (default: whichever is running)').choices(INGEST_MODES);

/** The Temporal client, with the control functions loaded only when a command runs. */
function withClient<T>(run: (client: Client, config: StackConfig, control: Control) => Promise<T>): Promise<T> {
  return withTemporalClient(async (client, config) => run(client, config, await import('../../clients/ingestion-control.js')));
}

function sourceUrlOf(config: StackConfig, given?: string): string {
  return given ?? config.RESTAURANT_API_URL ?? readRuntimeState(config.DATA_DIR)?.apiUrl ?? `http://127.0.0.1:${config.API_PORT}`;
}

export function ingestCommand(): Command {
  const ingest = new Command('ingest').description('Control the ingestion workflows (the same signals, query and update work from the `temporal` CLI and the Web UI).');

  ingest
    .command('start')
    .description('Start ingesting (idempotent: a running workflow is reused, never duplicated).')
    .addOption(new Option('--mode <mode>', 'realtime (SSE) or polling (/events every POLL_INTERVAL_SECONDS)').choices(INGEST_MODES).default('realtime'))
    .option('--from <offset>', 'move the checkpoint to this offset first (default: continue from the committed checkpoint)')
    .option('--source <url>', 'event API base URL (default: RESTAURANT_API_URL or the running stack’s)')
    .action(async (options: { mode: IngestMode; from?: string; source?: string }) =>
      withClient(async (client, config, control) => {
        const fromOffset = options.from === undefined ? undefined : parseOption('--from', offset, options.from);
        const sourceUrl = sourceUrlOf(config, options.source);
        const { workflowId, created } = await control.ensureIngestionRunning(client, config, { mode: options.mode, sourceUrl, fromOffset });
        console.log(created ? `started ${workflowId} (${options.mode}) from ${sourceUrl}` : `${workflowId} is already running; nothing started`);
      }),
    );

  ingest
    .command('pause')
    .description('Pause within a second; the in-flight batch is not half-written.')
    .option('--reason <text>', 'shown in status and the Web UI', 'paused from the CLI')
    .addOption(modeOption())
    .action(async (options: { reason: string; mode?: IngestMode }) =>
      withClient(async (client, config, control) => console.log(`paused ${await control.pauseIngestion(client, config, options.reason, options.mode)}`)),
    );

  ingest
    .command('resume')
    .description('Resume from the committed offset.')
    .option('--reason <text>', 'why', 'resumed from the CLI')
    .addOption(modeOption())
    .action(async (options: { reason: string; mode?: IngestMode }) =>
      withClient(async (client, config, control) => console.log(`resumed ${await control.resumeIngestion(client, config, options.reason, options.mode)}`)),
    );

  ingest
    .command('status')
    .description('Offset, paused, events/s, totals, rejected, lag, last batch, last error.')
    .option('--json', 'machine-readable: an array with one status per running workflow')
    .addOption(modeOption())
    .action(async (options: { json?: boolean; mode?: IngestMode }) =>
      withClient(async (client, config, control) => {
        const statuses: IngestionStatus[] = await control.ingestionStatuses(client, config, options.mode);
        if (options.json) console.log(JSON.stringify(statuses, null, 2));
        else if (statuses.length === 0) console.log('ingestion: not started (start it with `restaurant-stack ingest start`)');
        else console.log(statuses.map(formatStatus).join('\n\n'));
      }),
    );

  ingest
    .command('rewind')
    .description('Move the checkpoint back (or forward) and re-ingest from there; idempotent writes make it safe.')
    .requiredOption('--to <offset>', 'the offset to continue after')
    .option('--epoch <n>', 'source epoch (default: the current one)')
    .addOption(modeOption())
    .action(async (options: { to: string; epoch?: string; mode?: IngestMode }) =>
      withClient(async (client, config, control) => {
        const to = parseOption('--to', offset, options.to);
        const epoch = options.epoch === undefined ? undefined : parseOption('--epoch', z.coerce.number().int().min(1), options.epoch);
        const { previous, position } = await control.rewindIngestion(client, config, to, epoch, options.mode);
        console.log(`rewound from offset ${previous.offset} (epoch ${previous.epoch}) to ${position.offset} (epoch ${position.epoch})`);
      }),
    );

  ingest
    .command('poll-now')
    .description('Polling mode: poll the source now instead of at the next interval.')
    .action(async () => withClient(async (client, config, control) => console.log(`asked ${await control.pollNow(client, config)} to poll now`)));

  ingest
    .command('stop')
    .description('Stop the workflow cleanly (cancels the in-flight session); `start` later continues from the checkpoint.')
    .addOption(modeOption())
    .action(async (options: { mode?: IngestMode }) =>
      withClient(async (client, config, control) => {
        const final = await control.stopIngestion(client, config, options.mode);
        console.log(`stopped ${final.workflowId} at offset ${final.position.offset} (epoch ${final.position.epoch}); ${final.totals.events} events ingested by it`);
      }),
    );

  return ingest;
}
