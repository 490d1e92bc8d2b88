import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { connectionOptions, type TemporalTarget } from '../config/temporal.js';
import { STREAM_SEARCH_ATTRIBUTE } from '../contracts/ingestion.js';

/** gRPC status codes (google.rpc.Code) the namespace set-up tells apart. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;
/** A namespace just registered reaches the server's namespace cache within seconds. */
const NAMESPACE_CACHE_ATTEMPTS = 30;

type Log = (line: string) => void;
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Connects, retrying for up to waitMs while the server is not answering yet (a cluster still starting). */
export async function connectWhenReady(target: TemporalTarget, waitMs: number, log: Log): Promise<Connection> {
  const deadline = Date.now() + waitMs;
  let lastReported = 0;
  for (;;) {
    try {
      return await Connection.connect({ ...connectionOptions(target), connectTimeout: 5_000 });
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`cannot reach Temporal at ${target.address} (${reason(error)})`, { cause: error });
      if (Date.now() - lastReported >= 15_000) {
        log(`waiting for Temporal at ${target.address}: ${reason(error)}`);
        lastReported = Date.now();
      }
      await sleep(1_000);
    }
  }
}

/** Registers the namespace unless it exists; true when this call registered it. A namespace Temporal Cloud does not know is an error naming where to create it. */
export async function ensureNamespace(connection: Connection, namespace: string, retentionMs: number): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return false;
  } catch (error) {
    if (!isGrpcServiceError(error) || Number(error.code) !== NOT_FOUND) throw new Error(`cannot read namespace ${namespace}: ${reason(error)}`, { cause: error });
  }
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(retentionMs) });
    return true;
  } catch (error) {
    if (isGrpcServiceError(error) && Number(error.code) === ALREADY_EXISTS) return false;
    throw new Error(
      `namespace ${namespace} does not exist and could not be registered (${reason(error)}); on Temporal Cloud create it in the Cloud UI or with tcld first`,
      { cause: error },
    );
  }
}

/**
 * Adds the RestaurantStream search attribute unless the namespace has it. Returns what happened, or why
 * the cluster refused (some clusters take search attributes from their own console only): everything
 * works without it, so a refusal is reported, not thrown.
 */
export async function ensureStreamSearchAttribute(connection: Connection, namespace: string): Promise<'exists' | 'created' | { refused: string }> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= NAMESPACE_CACHE_ATTEMPTS; attempt += 1) {
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      if (STREAM_SEARCH_ATTRIBUTE in (customAttributes ?? {})) return 'exists';
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [STREAM_SEARCH_ATTRIBUTE]: KEYWORD } });
      return 'created';
    } catch (error) {
      if (isGrpcServiceError(error) && Number(error.code) === ALREADY_EXISTS) return 'exists';
      // A namespace registered a moment ago answers NOT_FOUND until the server's cache has it.
      if (!isGrpcServiceError(error) || Number(error.code) !== NOT_FOUND) return { refused: reason(error) };
      lastError = error;
      await sleep(1_000);
    }
  }
  return { refused: reason(lastError) };
}
