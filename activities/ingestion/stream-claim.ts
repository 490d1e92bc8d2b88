import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { hasSearchAttribute } from '../../temporal/search-attributes.js';
import { STREAM_SEARCH_ATTRIBUTE, type StreamClaimRequest, type StreamClaimResult } from '../../contracts/ingestion.js';
import type { WarehouseDatabase } from '../../warehouse/schema.js';
import { claimStream } from '../warehouse/checkpoints.js';

async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** Registered search attributes change rarely: asked once per worker process and namespace. */
const searchAttributeKnown = new Map<string, Promise<boolean>>();

function hasStreamSearchAttribute(client: Client): Promise<boolean> {
  const { namespace } = client.options;
  let known = searchAttributeKnown.get(namespace);
  if (!known) {
    known = hasSearchAttribute(client, STREAM_SEARCH_ATTRIBUTE).catch(() => false);
    searchAttributeKnown.set(namespace, known);
  }
  return known;
}

/**
 * The claim activity: the workflow becomes its stream's only consumer unless another running workflow
 * holds it; also tells whether the RestaurantStream search attribute may be set in this namespace.
 */
export async function claimStreamActivity(warehouse: Kysely<WarehouseDatabase>, request: StreamClaimRequest): Promise<StreamClaimResult> {
  const { client } = Context.current();
  const { heldBy } = await claimStream(warehouse, request, (workflowId) => isRunning(client, workflowId));
  return { heldBy, searchAttribute: await hasStreamSearchAttribute(client) };
}
