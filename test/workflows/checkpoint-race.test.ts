import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection, WorkflowUpdateStage } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import type { CheckpointRewind, SessionReport, SessionRequest, StreamClaimResult, StreamPosition } from '../../contracts/ingestion.js';
import { loadWorkflowBundle } from '../../worker/workflow-bundle.js';
import { rewindUpdate, statusQuery } from '../../workflows/messages.js';
import { BEFORE_PATCHES, workflowBundleAt } from '../support/workflow-versions.js';

/**
 * A rewind accepted while the workflow's own checkpoint read is in flight: the read's late result must
 * not undo the rewind. Fake activities hold that read until the rewind has had its chance to land.
 */
function racingActivities() {
  let committed: StreamPosition = { offset: 100, epoch: 1, lastEventId: null };
  let reads = 0;
  let firstReadStarted!: () => void;
  const readStarted = new Promise<void>((resolve) => (firstReadStarted = resolve));
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const sessions: SessionRequest[] = [];
  const activities = {
    // The current code claims its stream first (the pre-patch code does not): uncontested here.
    async claimStream(): Promise<StreamClaimResult> {
      return { heldBy: null, searchAttribute: false };
    },
    async readCheckpoint(): Promise<StreamPosition> {
      const snapshot = { ...committed };
      if (++reads === 1) {
        firstReadStarted();
        await gate;
      }
      return snapshot;
    },
    async rewindCheckpoint({ offset, epoch }: CheckpointRewind): Promise<StreamPosition> {
      committed = { offset, epoch, lastEventId: null };
      return committed;
    },
    async consumeStream(request: SessionRequest): Promise<SessionReport> {
      sessions.push(request);
      // A session runs until it is cancelled (the worker shutting down at the end of the race).
      await new Promise((resolve) => Context.current().cancellationSignal.addEventListener('abort', resolve));
      const now = new Date().toISOString();
      return {
        events: 0, byType: {}, rejected: 0, duplicatesSkipped: 0, gapsFilled: 0, eventsLostAtSource: 0, sourceRestarts: 0, batches: 0,
        position: request.position, startedAt: now, endedAt: now, lastBatchAt: null, lastEventTs: null, sourceHeadOffset: null, caughtUp: true,
      };
    },
  };
  return { activities, sessions, readStarted, openGate };
}

describe('a rewind racing the workflow’s checkpoint read', () => {
  let connection: NativeConnection;
  let client: Client;
  beforeAll(async () => {
    connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  });
  afterAll(async () => {
    await connection?.close();
    await client?.connection.close();
  });

  async function race(workflowBundle: WorkflowBundleOption): Promise<{ rewindWhileReading: boolean; firstSessionOffset: number; statusOffset: number; rewindReturned: number }> {
    const { activities, sessions, readStarted, openGate } = racingActivities();
    const taskQueue = `rewind-race-${randomBytes(4).toString('hex')}`;
    const worker = await Worker.create({ connection, taskQueue, workflowBundle, activities });
    return worker.runUntil(async () => {
      const handle = await client.workflow.start('restaurantRealtimeStream', { workflowId: taskQueue, taskQueue, args: [{ sourceUrl: 'http://127.0.0.1:9', tuning: { sessionSeconds: 1 } }] });
      await readStarted;
      const update = await handle.startUpdate(rewindUpdate, { args: [{ offset: 5 }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      // The workflow task that accepted the update has completed. Unpatched code scheduled the rewind's
      // own checkpoint read in it, beside the held one, and the rewind completes before the held read
      // returns; patched code scheduled nothing and waits for the held read.
      const { events } = await handle.fetchHistory();
      const checkpointActivities = (events ?? []).filter((event) => /^(readCheckpoint|rewindCheckpoint)$/.test(event.activityTaskScheduledEventAttributes?.activityType?.name ?? ''));
      const rewindWhileReading = checkpointActivities.length > 1;
      if (rewindWhileReading) await update.result();
      openGate();
      const result = await update.result();
      await expect.poll(() => sessions.length, { timeout: 20_000 }).toBeGreaterThan(0);
      const status = await handle.query(statusQuery);
      await handle.terminate();
      return { rewindWhileReading, firstSessionOffset: sessions[0]!.position.offset, statusOffset: status.position.offset, rewindReturned: result.position.offset };
    });
  }

  it('the unpatched code loses the rewind (the failure this guards against)', async () => {
    const outcome = await race(await workflowBundleAt(BEFORE_PATCHES));
    expect(outcome.rewindWhileReading).toBe(true);
    expect(outcome.rewindReturned).toBe(5);
    expect(outcome.firstSessionOffset).toBe(100);
  });

  it('the current code applies the rewind after the read: the next session starts at the rewound offset', async () => {
    const outcome = await race(await loadWorkflowBundle(loadConfig().DATA_DIR));
    expect(outcome).toEqual({ rewindWhileReading: false, firstSessionOffset: 5, statusOffset: 5, rewindReturned: 5 });
  });
});
