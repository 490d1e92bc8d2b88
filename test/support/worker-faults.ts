import { setInterval as every } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { expect } from 'vitest';
import { SESSION_OWNER_GONE } from '../../activities/warehouse/ownership.js';
import { startEventApi } from '../../generator-api/index.js';
import { groundTruth } from './ground-truth.js';
import { committedOffset, expectWarehouseMatches, waitForCheckpoint } from './ingestion.js';
import { spawnWorkerProcess } from './worker-process.js';

/** Where a fault scenario runs: `restaurant-stack worker` processes connect with `workerDatabaseUrl`; the checks read through `pool`. */
export interface FaultScene {
  readonly pool: pg.Pool;
  readonly client: Client;
  readonly workerDatabaseUrl: string;
  /** Further worker environment. */
  readonly workerEnv?: Record<string, string>;
}

/** events_total of the stream's checkpoint row, and its rows in events_raw: always equal. */
export async function streamTotals(pool: pg.Pool, stream: string): Promise<{ eventsTotal: number; rows: number }> {
  const { rows } = await pool.query<{ events_total: string; rows: string }>(
    `SELECT (SELECT events_total FROM raw_data.stream_checkpoints WHERE stream_name = $1) AS events_total,
            (SELECT count(*) FROM raw_data.events_raw WHERE stream_name = $1) AS rows`,
    [stream],
  );
  return { eventsTotal: Number(rows[0]?.events_total ?? 0), rows: Number(rows[0]?.rows ?? 0) };
}

function spawnWorker(scene: FaultScene, taskQueue: string): ChildProcess {
  return spawnWorkerProcess({ databaseUrl: scene.workerDatabaseUrl, taskQueue, env: scene.workerEnv });
}

/**
 * A zombie session (its worker frozen past the heartbeat timeout, then thawed) moves nothing back, loses
 * nothing, doubles nothing: its successor on another worker takes the stream over, and the frozen
 * session's late commits are fenced out. Needs a warehouse with no other stream's rows.
 */
export async function expectZombieFenced(scene: FaultScene, label: string): Promise<void> {
  const api = await startEventApi({ port: 0, seed: `zombie-${label}`, rate: 1_000, maxEvents: 15_000 });
  const taskQueue = `zombie-${label}-${Date.now()}`;
  const frozen = spawnWorker(scene, taskQueue);
  let successor: ChildProcess | undefined;
  // Watch the checkpoint the whole time: it must never move backwards.
  const seen: number[] = [];
  let watching = true;
  const watcher = (async () => {
    for await (const _tick of every(20)) {
      if (!watching) break;
      seen.push(await committedOffset(scene.pool, taskQueue));
    }
  })();
  try {
    const handle = await scene.client.workflow.start('restaurantRealtimeStream', {
      workflowId: taskQueue,
      taskQueue,
      args: [{ sourceUrl: api.url, tuning: { sessionSeconds: 60, maxBatchWaitMs: 20 } }],
    });
    await waitForCheckpoint(scene.pool, handle.workflowId, 2_000);
    frozen.kill('SIGSTOP');
    const frozenAt = await committedOffset(scene.pool, handle.workflowId);
    successor = spawnWorker(scene, taskQueue);
    // The successor takes the stream over once the frozen session's heartbeat timed out.
    await waitForCheckpoint(scene.pool, handle.workflowId, frozenAt + 2_000, 120_000);
    const { rows } = await scene.pool.query<{ owner_generation: string }>('SELECT owner_generation FROM raw_data.stream_checkpoints WHERE stream_name = $1', [taskQueue]);
    expect(Number(rows[0]!.owner_generation)).toBeGreaterThan(1);
    frozen.kill('SIGCONT');
    await waitForCheckpoint(scene.pool, handle.workflowId, 15_000, 120_000);
    watching = false;
    await watcher;
    for (let i = 1; i < seen.length; i++) expect(seen[i]!, `checkpoint went from ${seen[i - 1]} to ${seen[i]}`).toBeGreaterThanOrEqual(seen[i - 1]!);
    await expectWarehouseMatches(scene.pool, groundTruth(api));
    expect(await streamTotals(scene.pool, taskQueue)).toEqual({ eventsTotal: 15_000, rows: 15_000 });
    await handle.cancel();
  } finally {
    watching = false;
    await watcher;
    frozen.kill('SIGCONT');
    frozen.kill('SIGKILL');
    successor?.kill('SIGKILL');
    await api.close();
  }
}

/**
 * Of two workers, the one running the session is SIGKILLed: the survivor fails that attempt at once
 * (its worker's presence ended) instead of waiting for the heartbeat timeout, the retry resumes from
 * the last commit, and the warehouse ends exact. Needs a warehouse with no other stream's rows.
 */
export async function expectKilledWorkersSessionMoved(scene: FaultScene, label: string): Promise<void> {
  const api = await startEventApi({ port: 0, seed: `abandoned-${label}`, rate: 1_500, maxEvents: 6_000 });
  const taskQueue = `abandoned-${label}-${Date.now()}`;
  const workers = [spawnWorker(scene, taskQueue), spawnWorker(scene, taskQueue)];
  try {
    const handle = await scene.client.workflow.start('restaurantRealtimeStream', {
      workflowId: taskQueue,
      taskQueue,
      args: [{ sourceUrl: api.url, tuning: { sessionSeconds: 30, maxBatchWaitMs: 20 } }],
    });
    await waitForCheckpoint(scene.pool, handle.workflowId, 1_000);
    // The owner token starts with the owning worker's identity, `host:pid`.
    const { rows } = await scene.pool.query<{ owner_token: string }>('SELECT owner_token FROM raw_data.stream_checkpoints WHERE stream_name = $1', [handle.workflowId]);
    const ownerPid = Number(/^[^ ]*:(\d+) /.exec(rows[0]?.owner_token ?? '')?.[1]);
    const owner = workers.find((worker) => worker.pid === ownerPid);
    expect(owner, `owner token ${rows[0]?.owner_token}`).toBeDefined();
    owner!.kill('SIGKILL');
    await new Promise((resolve) => owner!.once('exit', resolve));

    await waitForCheckpoint(scene.pool, handle.workflowId, 6_000, 120_000);
    await expectWarehouseMatches(scene.pool, groundTruth(api));
    // The session now running is the retry of the killed one, which failed as abandoned (not timed out).
    const running = (await handle.describe()).raw.pendingActivities ?? [];
    expect(running.map((activity) => ({ attempt: activity.attempt, failedAs: activity.lastFailure?.applicationFailureInfo?.type }))).toEqual([
      { attempt: 2, failedAs: SESSION_OWNER_GONE },
    ]);
    await handle.cancel();
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await api.close();
  }
}
