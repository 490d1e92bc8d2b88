import { Command } from 'commander';
import type { z } from 'zod';
import { loadConfig } from '../../config/env.js';
import { eventApiOptionsSchema, feedsSchema, MAX_FEEDS } from '../../generator-api/options.js';
import { createLogger } from '../../telemetry/logger.js';
import { onStopRequest } from '../../lifecycle/stop-request.js';
import { parseOption } from '../options.js';

type OptionName = keyof typeof eventApiOptionsSchema.shape;

const flagOf = (name: string) => `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

const HELP_AFTER = `
Endpoints (see shared/design/EVENTS.md):
  GET /health                       status, stored, head and earliest offsets, events/s, clients
  GET /events?since=N&limit=M       a page of retained events (limit 1..5000); 422 on bad parameters
  GET /stream                       SSE; resume with Last-Event-ID or ?since=N, 410 when too old

With --feeds N, each feed has these endpoints under /feeds/feed-001 … (e.g. /feeds/feed-007/stream), and
/health and /metrics at the root sum up the process (its /metrics labels every figure with feed="…").

A malformed event (--malformed-rate) keeps its offset: on /stream its data: line is broken JSON, on
/events its element is a JSON string holding the raw text instead of an object.

Examples:
  restaurant-stack api --seed demo --rate 500
  restaurant-stack api --rate max --max-events 100000
  restaurant-stack api --drop-every 1000 --malformed-rate 0.01 --duplicate-rate 0.01
  restaurant-stack api --legacy        # like the old source: shared queue, no resume, offsets from 1
  restaurant-stack api --feeds 200 --rate 5   # 200 quiet feeds at /feeds/feed-001 … /feeds/feed-200
`;

/** `restaurant-stack api`: the restaurant event source, until SIGINT or SIGTERM. */
export function apiCommand(): Command {
  return new Command('api')
    .description('Run the restaurant event API: a simulated restaurant chain served over SSE and REST, replayable by seed, with optional fault injection.')
    .option('--port <port>', 'port to listen on (default: API_PORT, else 8000)')
    .option('--host <host>', 'interface to listen on (default: 127.0.0.1)')
    .option('--feeds <count>', `serve this many independent feeds (1..${MAX_FEEDS}) at /feeds/feed-001 …, each seeded from the seed and its number; the other options apply to each feed`)
    .option('--rate <events/s|max>', 'events per second (per feed with --feeds), the mean of a busier-at-lunch-and-dinner day, or "max" (default: API_RATE, else 200)')
    .option('--seed <seed>', 'make every id, value and simulated timestamp a function of this seed (default: API_SEED, else random)')
    .option('--clock <wall|simulated>', 'timestamps from the real time of emission, or from the seeded simulated clock (default: simulated when seeded)')
    .option('--simulated-start <timestamp>', 'ISO-8601 time where the simulated clock starts (default: 2026-01-05T11:00:00Z when seeded, else now)')
    .option('--retention <events>', 'events kept in memory for /events and SSE replay (default: 100000; per feed with --feeds: 200000 shared out, at least 1000)')
    .option('--data-dir <dir>', 'folder where the head offset is kept so a restart continues after it (default: DATA_DIR)')
    .option('--keep-alive-ms <ms>', 'idle time before a ": keep-alive" comment, 10..15000 (default: 10000)')
    .option('--max-client-buffer-bytes <bytes>', 'unsent data a slow SSE client may have before it is disconnected (default: 4 MiB)')
    .option('--max-events <offset>', 'stop producing after this offset')
    .option('--token <token>', 'require this bearer token on /events and /stream, 401 without it; /health and /metrics stay open (default: API_TOKEN)')
    .option('--paused', 'fault: keep every stream open but produce nothing')
    .option('--legacy', 'fault: behave like the old source (clients share one queue, Last-Event-ID ignored, offsets restart at 1)')
    .option('--drop-every <events>', 'fault: end each SSE connection after it carried this many events')
    .option('--malformed-rate <0..1>', 'fault: chance per event that an event with broken JSON follows it')
    .option('--invalid-rate <0..1>', 'fault: chance per event that an event violating the schema follows it')
    .option('--duplicate-rate <0..1>', 'fault: chance that an event is sent twice on the stream')
    .option('--children-first-rate <0..1>', "fault: chance that an order's items and payment come before its order_created")
    .addHelpText('after', HELP_AFTER)
    // Usage errors reach cli/main.ts as CommanderErrors, which exit with code 2 like bad flag values.
    .exitOverride()
    .action(async ({ feeds, ...flags }: Record<string, unknown>) => {
      const config = loadConfig();
      const feedCount = feeds === undefined ? undefined : parseOption('--feeds', feedsSchema, feeds);
      const given: Record<string, unknown> = {
        port: config.API_PORT,
        rate: config.API_RATE,
        seed: config.API_SEED,
        token: config.API_TOKEN,
        dataDir: config.DATA_DIR,
        ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)),
      };
      for (const [name, value] of Object.entries(given)) {
        parseOption(flagOf(name), eventApiOptionsSchema.shape[name as OptionName] as z.ZodType, value);
      }
      const log = createLogger('api', config.LOG_LEVEL);
      // Loaded here: every other command (the worker's among them) runs without the event API's code.
      const { startEventApi, startEventFeeds } = await import('../../generator-api/index.js');
      const api = feedCount === undefined ? await startEventApi(eventApiOptionsSchema.parse(given), log) : await startEventFeeds(feedCount, given, log);
      await new Promise<string>((resolve) => onStopRequest(resolve));
      await api.close();
    });
}
