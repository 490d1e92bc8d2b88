import { Command } from 'commander';
import type { StringValue } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { z } from 'zod';
import { loadConfig } from '../../config/env.js';
import { STREAM_SEARCH_ATTRIBUTE } from '../../contracts/ingestion.js';
import { parseOption } from '../options.js';
import { configuredTemporalTarget } from '../with-temporal.js';

/** ms-style durations, as the `temporal` CLI takes them: 168h, 7d. */
const retention = z
  .string()
  .transform((text, context) => {
    try {
      return msToNumber(text as StringValue);
    } catch {
      context.addIssue({ code: 'custom', message: 'a duration such as 168h or 7d' });
      return z.NEVER;
    }
  })
  .pipe(z.number().min(86_400_000, 'at least a day (Temporal’s minimum)'));
const seconds = z.coerce.number().int().min(0);

export function namespaceCommand(): Command {
  return new Command('namespace')
    .description(
      `Register TEMPORAL_NAMESPACE unless it exists (on Temporal Cloud, where namespaces are made in the Cloud UI: check that it answers with these credentials), and its ${STREAM_SEARCH_ATTRIBUTE} search attribute. Idempotent: compose’s temporal-namespace job.`,
    )
    .option('--retention <duration>', 'how long a namespace it registers keeps closed workflow histories: hours or days, e.g. 168h or 7d', '168h')
    .option('--wait-seconds <n>', 'how long to wait for a Temporal server that is still starting', '0')
    .action(async (options: { retention: string; waitSeconds: string }) => {
      const config = loadConfig();
      const retentionMs = parseOption('--retention', retention, options.retention);
      const waitSeconds = parseOption('--wait-seconds', seconds, options.waitSeconds);
      const { connectWhenReady, ensureNamespace, ensureStreamSearchAttribute } = await import('../../clients/temporal-namespace.js');
      const target = configuredTemporalTarget(config);
      const connection = await connectWhenReady(target, waitSeconds * 1_000, console.log);
      try {
        const registered = await ensureNamespace(connection, target.namespace, retentionMs);
        console.log(`namespace ${target.namespace} ${registered ? 'registered' : 'exists'} at ${target.address}`);
        const attribute = await ensureStreamSearchAttribute(connection, target.namespace);
        if (typeof attribute === 'string') console.log(`search attribute ${STREAM_SEARCH_ATTRIBUTE} ${attribute}`);
        else
          console.log(
            `search attribute ${STREAM_SEARCH_ATTRIBUTE} could not be added (${attribute.refused}): streams are listed by workflow type until it exists; on Temporal Cloud add it as a Keyword in the namespace's settings or with \`tcld namespace search-attributes add --search-attribute ${STREAM_SEARCH_ATTRIBUTE}=Keyword\``,
          );
      } finally {
        await connection.close();
      }
    });
}
