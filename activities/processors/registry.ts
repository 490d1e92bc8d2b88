import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { projectRoot } from '../../config/env.js';
import { ProcessorRegistry, type AnyEventProcessor } from './processor.js';
import { RESTAURANT_PROCESSORS } from './restaurant-facts.js';

const pluginProcessorShape = z.object({
  eventType: z.string().min(1),
  payloadSchema: z.custom<AnyEventProcessor['payloadSchema']>((value) => typeof (value as { safeParse?: unknown })?.safeParse === 'function', 'a zod schema'),
  orderIdOf: z.function().optional(),
  apply: z.function(),
});

/**
 * The built-in processors, plus those of the plugin module named by EVENT_PROCESSORS_MODULE (a path
 * relative to the project root, exporting `processors` or a default array): a plugin processor adds
 * an event type or replaces the built-in one for its type.
 */
export async function loadProcessors(pluginModule?: string): Promise<ProcessorRegistry> {
  const builtIn = new ProcessorRegistry(RESTAURANT_PROCESSORS);
  if (!pluginModule) return builtIn;
  const url = pathToFileURL(path.resolve(projectRoot, pluginModule)).href;
  const exported = (await import(url)) as { processors?: unknown; default?: unknown };
  const candidates = exported.processors ?? exported.default;
  const parsed = z.array(pluginProcessorShape).min(1).safeParse(candidates);
  if (!parsed.success) {
    throw new Error(`EVENT_PROCESSORS_MODULE ${pluginModule} must export \`processors\` (or a default export): an array of event processors (${parsed.error.issues[0]?.message})`);
  }
  return builtIn.with(candidates as AnyEventProcessor[]);
}
