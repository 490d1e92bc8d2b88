import { Command, Option } from 'commander';
import { z } from 'zod';
import type { StackConfig } from '../../config/env.js';
import type { Client } from '@temporalio/client';
import { INGEST_MODES, streamNameSchema, type IngestMode, type StreamStatus } from '../../contracts/ingestion.js';
import { parseOption } from '../options.js';
import type * as ControlModule from '../../clients/ingestion-control.js';
import type { StreamFlags } from '../stream-spec.js';
import { withTemporalClient } from '../with-temporal.js';
import { formatStatus, formatStatusTable } from './status-format.js';

const offset = z.coerce.number().int().min(0);
const sourceUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL, e.g. http://127.0.0.1:8000' });
type Control = typeof ControlModule;
type Selector = ControlModule.StreamSelector;
const modeOption = () => new Option('--mode <mode>', 'which workflow: realtime or polling (default: whichever is running)').choices(INGEST_MODES);
const streamOption = () => new Option('--stream <name>', 'the stream (default: the single feed, restaurant_realtime_stream)');
const allOption = () => new Option('--all', 'every running stream').conflicts('stream');

interface SelectorFlags {
  stream?: string;
  all?: boolean;
  mode?: IngestMode;
}

/** The Temporal client, with the control functions loaded only when a command runs. */
function withClient<T>(run: (client: Client, config: StackConfig, control: Control) => Promise<T>): Promise<T> {
  return withTemporalClient(async (client, config) => run(client, config, await import('../../clients/ingestion-control.js')));
}

function selectorOf(flags: SelectorFlags): Selector {
  return { stream: flags.stream === undefined ? undefined : parseOption('--stream', streamNameSchema, flags.stream), all: flags.all, mode: flags.mode };
}

/** The stream a command names, from its flags and the streams file (its YAML parser loaded only then). */
async function specOf(config: StackConfig, flags: StreamFlags) {
  const { resolveStreamSpec } = await import('../stream-spec.js');
  return resolveStreamSpec(config, { ...flags, source: flags.source === undefined ? undefined : parseOption('--source', sourceUrl, flags.source) });
}

const named = (running: ReadonlyArray<{ stream: string; workflowId: string }>) => running.map((entry) => `${entry.stream} (${entry.workflowId})`).join(', ');

export function ingestCommand(): Command {
  const ingest = new Command('ingest').description(
    'Control the ingestion workflows, one per stream (the same signals, query and update work from the `temporal` CLI and the Web UI).',
  );

  ingest
    .command('start')
    .description('Start ingesting a stream (idempotent: a stream already read, in either mode, is left alone, never duplicated).')
    .addOption(streamOption())
    .option('--source <url>', 'event API base URL (default: the streams file entry, else RESTAURANT_API_URL or the running stack’s)')
    .addOption(new Option('--mode <mode>', 'realtime (SSE) or polling (/events every POLL_INTERVAL_SECONDS) (default: the streams file entry, else realtime)').choices(INGEST_MODES))
    .option('--from <offset>', 'move the checkpoint to this offset first (default: continue from the committed checkpoint)')
    .addOption(
      new Option('--all', 'every configured stream, as `up` starts them: each of the streams file, else the single feed in INGEST_MODE; reports any that runs otherwise')
        .conflicts(['stream', 'source', 'mode', 'from']),
    )
    .action(async (options: StreamFlags & { from?: string; all?: boolean }) =>
      withClient(async (client, config, control) => {
        if (options.all) {
          const [{ loadStreamsFile, singleFeed, streamsFilePath }, { reconcileStreams }, { configuredSourceUrl }] = await Promise.all([
            import('../../config/streams.js'),
            import('../../stack/streams-reconcile.js'),
            import('../stream-spec.js'),
          ]);
          const file = streamsFilePath(config);
          await reconcileStreams(client, config, file ? loadStreamsFile(file, config) : singleFeed(config, configuredSourceUrl(config)), console.log);
          return;
        }
        const fromOffset = options.from === undefined ? undefined : parseOption('--from', offset, options.from);
        const spec = await specOf(config, options);
        const outcome = await control.ensureStreamRunning(client, config, { stream: spec.name, mode: spec.mode, sourceUrl: spec.sourceUrl, tuning: spec.tuning, tokenEnv: spec.tokenEnv, fromOffset });
        if (outcome.created) console.log(`started ${outcome.workflowId}: stream ${spec.name} (${spec.mode}) from ${spec.sourceUrl}`);
        else if (outcome.running.mode !== spec.mode)
          console.log(`stream ${spec.name} is read by ${outcome.workflowId} in ${outcome.running.mode} mode; nothing started. Switch with \`restaurant-stack ingest restart --stream ${spec.name} --mode ${spec.mode}\``);
        else console.log(`${outcome.workflowId} is already running; nothing started`);
      }),
    );

  ingest
    .command('restart')
    .description('Stop a stream’s workflow and start it again with another source, mode or the current tuning; the stream keeps its checkpoint.')
    .addOption(streamOption())
    .option('--source <url>', 'the source to read from now (default: the streams file entry, else RESTAURANT_API_URL or the running stack’s)')
    .addOption(new Option('--mode <mode>', 'realtime or polling (default: the streams file entry, else realtime)').choices(INGEST_MODES))
    .action(async (options: StreamFlags) =>
      withClient(async (client, config, control) => {
        const spec = await specOf(config, options);
        const { stopped, workflowId } = await control.restartStream(client, config, { stream: spec.name, mode: spec.mode, sourceUrl: spec.sourceUrl, tuning: spec.tuning, tokenEnv: spec.tokenEnv });
        console.log(`stopped ${stopped.workflowId} (${stopped.mode}, ${stopped.sourceUrl}) at offset ${stopped.position.offset} (epoch ${stopped.position.epoch})`);
        const sameSource = stopped.sourceUrl === spec.sourceUrl;
        console.log(
          `started ${workflowId}: stream ${spec.name} (${spec.mode}) from ${spec.sourceUrl}, continuing from offset ${stopped.position.offset}` +
            (sameSource ? '' : ' if the new source holds the same event there; otherwise in a new source epoch from its first event (see `ingest status`)'),
        );
      }),
    );

  ingest
    .command('pause')
    .description('Pause within a second; the in-flight batch is not half-written.')
    .option('--reason <text>', 'shown in status and the Web UI', 'paused from the CLI')
    .addOption(streamOption())
    .addOption(allOption())
    .addOption(modeOption())
    .action(async (options: SelectorFlags & { reason: string }) =>
      withClient(async (client, config, control) => console.log(`paused ${named(await control.pauseIngestion(client, config, options.reason, selectorOf(options)))}`)),
    );

  ingest
    .command('resume')
    .description('Resume from the committed offset.')
    .option('--reason <text>', 'why', 'resumed from the CLI')
    .addOption(streamOption())
    .addOption(allOption())
    .addOption(modeOption())
    .action(async (options: SelectorFlags & { reason: string }) =>
      withClient(async (client, config, control) => console.log(`resumed ${named(await control.resumeIngestion(client, config, options.reason, selectorOf(options)))}`)),
    );

  ingest
    .command('status')
    .description(
      'Every running stream in one table (state — consuming, waiting for a worker since when, paused… —, how long ago it was last read and committed, offset, lag, events/s, last error); one stream (or --stream) in detail. Computed when asked, from each workflow and its pending work.',
    )
    .option('--json', 'machine-readable: an array with one status per running workflow (its `reading` says when it was last read and committed, and since when it waits for a worker)')
    .addOption(streamOption())
    .addOption(modeOption())
    .action(async (options: SelectorFlags & { json?: boolean }) =>
      withClient(async (client, config, control) => {
        const selector = options.stream === undefined ? { all: true, mode: options.mode } : selectorOf(options);
        const statuses: StreamStatus[] = await control.ingestionStatuses(client, config, selector);
        if (options.json) console.log(JSON.stringify(statuses, null, 2));
        else if (statuses.length === 0) console.log(`ingestion: ${options.stream ? `stream ${options.stream} ` : ''}not started (start it with \`restaurant-stack ingest start\`)`);
        else if (options.stream || statuses.length === 1) console.log(statuses.map(formatStatus).join('\n\n'));
        else console.log(formatStatusTable(statuses));
      }),
    );

  ingest
    .command('rewind')
    .description('Move one stream’s checkpoint back (or forward) and re-ingest from there; idempotent writes make it safe.')
    .requiredOption('--to <offset>', 'the offset to continue after')
    .option('--epoch <n>', 'source epoch (default: the current one)')
    .addOption(streamOption())
    .addOption(modeOption())
    .action(async (options: SelectorFlags & { to: string; epoch?: string }) =>
      withClient(async (client, config, control) => {
        const to = parseOption('--to', offset, options.to);
        const epoch = options.epoch === undefined ? undefined : parseOption('--epoch', z.coerce.number().int().min(1), options.epoch);
        const { previous, position } = await control.rewindIngestion(client, config, to, epoch, selectorOf(options));
        console.log(`rewound from offset ${previous.offset} (epoch ${previous.epoch}) to ${position.offset} (epoch ${position.epoch})`);
      }),
    );

  ingest
    .command('poll-now')
    .description('Polling mode: poll the source now instead of at the next interval.')
    .addOption(streamOption())
    .addOption(allOption())
    .action(async (options: SelectorFlags) =>
      withClient(async (client, config, control) => console.log(`asked ${named(await control.pollNow(client, config, selectorOf(options)))} to poll now`)),
    );

  ingest
    .command('stop')
    .description('Stop workflows cleanly (cancels the in-flight session); `start` later continues from the checkpoint.')
    .addOption(streamOption())
    .addOption(allOption())
    .addOption(modeOption())
    .action(async (options: SelectorFlags) =>
      withClient(async (client, config, control) => {
        for (const final of await control.stopIngestion(client, config, selectorOf(options))) {
          console.log(`stopped ${final.workflowId} at offset ${final.position.offset} (epoch ${final.position.epoch}) of stream ${final.stream}; ${final.totals.events} events ingested by it`);
        }
      }),
    );

  return ingest;
}
