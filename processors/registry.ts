import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { projectRoot } from '../config/env.js';
import { ProcessorRegistry, type AnyEventProcessor } from './processor.js';
import { RESTAURANT_PROCESSORS } from './restaurant-facts.js';

const isFunction = (value: unknown) => typeof value === 'function';

const pluginSchema = z.object({
  processors: z
    .array(
      z.object({
        eventType: z.string().min(1),
        payloadSchema: z.custom<AnyEventProcessor['payloadSchema']>((value) => isFunction((value as { safeParse?: unknown } | null)?.safeParse), 'must be a zod schema'),
        orderIdOf: z.custom<AnyEventProcessor['orderIdOf']>((value) => value === undefined || isFunction(value), 'must be a function').optional(),
        apply: z.custom<AnyEventProcessor['apply']>(isFunction, 'must be a function'),
      }),
    )
    .min(1),
  /** Idempotent DDL for the plugin's own tables, run by `migrate` and `up` as the migrating role. */
  warehouseSetupSql: z.string().optional(),
});

export interface EventPlugin {
  processors: readonly AnyEventProcessor[];
  warehouseSetupSql?: string;
}

/**
 * A plugin module (EVENT_PROCESSORS_MODULE, a path relative to the project root) exports `processors`
 * — each adds an event type, or replaces the built-in processor of its type — and optionally
 * `warehouseSetupSql` for the tables they write.
 */
export async function loadEventPlugin(pluginModule: string): Promise<EventPlugin> {
  const url = pathToFileURL(path.resolve(projectRoot, pluginModule)).href;
  const parsed = pluginSchema.safeParse(await import(url));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`EVENT_PROCESSORS_MODULE ${pluginModule}: ${issue?.path.join('.') || 'module'} ${issue?.message ?? 'is not a processor plugin'}`);
  }
  return parsed.data;
}

/** The built-in processors, with the plugin's (if any) added or in place of built-in ones. */
export async function loadProcessors(pluginModule?: string): Promise<ProcessorRegistry> {
  const builtIn = new ProcessorRegistry(RESTAURANT_PROCESSORS);
  return pluginModule ? builtIn.with((await loadEventPlugin(pluginModule)).processors) : builtIn;
}
