import type { WorkflowHandle } from '@temporalio/client';
import { tuningFrom } from '../config/streams.js';
import { loadConfig } from '../config/env.js';
import { waitUntil } from '../stack/wait.js';
import { WORKFLOW_TYPES, type IngestionTuning, type StreamIngestionInput } from '../contracts/ingestion.js';
import type { BenchEnvironment, BenchWarehouse } from './environment.js';
import type { ApiProcess, ApiSpec, MeasuredProcess } from './processes.js';

export interface PipelineSpec {
  readonly warehouse: BenchWarehouse;
  readonly api: ApiSpec;
  /** The workflow id, which is also the stream name keying the checkpoint row. */
  readonly stream: string;
  readonly cpuProfileDir?: string;
}

/** The checkpoint row: the offset and event count committed in the same transaction as the rows. */
export interface Committed {
  readonly offset: number;
  readonly events: number;
  /** performance.now() when the row was read. */
  readonly at: number;
}

/**
 * At `--rate max` the event API produces as fast as its SSE clients take events, but without a
 * connected client it produces without bound: between two sessions, or while the worker's feed holds
 * back, it would run past its retention and the stream would lose events at the source. So the
 * benchmark keeps it at most this far ahead of the committed offset: several times what the worker's
 * feed holds unread (SseFeed's bound), so the worker never waits for the source, and within the API's
 * default retention (100,000) with room for what it makes between two looks (~8,000 per 50 ms).
 */
const MAX_LEAD = 60_000;
const GOVERNOR_INTERVAL_MS = 50;

/**
 * The whole path as production runs it: the event API and a worker in processes of their own, the
 * realtime workflow on Temporal with the configured tuning (INGEST_* defaults, as `up` starts it), and
 * the warehouse's checkpoint row as the measure of what has committed.
 */
export class Pipeline {
  private governing = false;
  private governor: Promise<void> = Promise.resolve();

  private constructor(
    private readonly env: BenchEnvironment,
    private readonly spec: PipelineSpec,
    readonly api: ApiProcess,
    public worker: MeasuredProcess,
    private readonly taskQueue: string,
    private readonly handle: WorkflowHandle,
    readonly tuning: IngestionTuning,
  ) {}

  static async start(env: BenchEnvironment, spec: PipelineSpec): Promise<Pipeline> {
    const temporal = await env.temporal();
    const unbounded = spec.api.rate === 'max';
    const api = await env.processes.startApi(unbounded ? { ...spec.api, paused: true } : spec.api);
    const taskQueue = `bench-${spec.stream}`;
    const worker = await env.processes.startWorker({
      databaseUrl: spec.warehouse.workerUrl,
      temporalAddress: temporal.address,
      taskQueue,
      cpuProfileDir: spec.cpuProfileDir,
    });
    const tuning = tuningFrom(loadConfig());
    const input: StreamIngestionInput = { sourceUrl: api.url, tuning };
    const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.realtime, { workflowId: spec.stream, taskQueue, args: [input] });
    const pipeline = new Pipeline(env, spec, api, worker.process, taskQueue, handle, tuning);
    if (unbounded) pipeline.governSource();
    return pipeline;
  }

  async committed(): Promise<Committed> {
    const { rows } = await this.spec.warehouse.pool.query<{ event_offset: string; events_total: string }>(
      'SELECT event_offset, events_total FROM raw_data.stream_checkpoints WHERE stream_name = $1',
      [this.spec.stream],
    );
    return { offset: Number(rows[0]?.event_offset ?? 0), events: Number(rows[0]?.events_total ?? 0), at: performance.now() };
  }

  async waitForOffset(offset: number, timeoutMs: number): Promise<void> {
    await waitUntil(`${this.spec.stream} commits offset ${offset}`, timeoutMs, async () => (await this.committed()).offset >= offset, 100);
  }

  /** A replacement worker on the same task queue, started the moment it is asked for (as a supervisor would). */
  async replaceWorker(): Promise<{ ready: Promise<void> }> {
    const temporal = await this.env.temporal();
    const { process, ready } = await this.env.processes.startWorker({
      databaseUrl: this.spec.warehouse.workerUrl,
      temporalAddress: temporal.address,
      taskQueue: this.taskQueue,
    });
    this.worker = process;
    return { ready };
  }

  /** When each finished session (consume activity) completed, in epoch milliseconds, from the workflow's history. */
  async sessionEnds(): Promise<number[]> {
    const { events } = await this.handle.fetchHistory();
    return (events ?? [])
      .filter((event) => event.activityTaskCompletedEventAttributes && event.eventTime)
      .map((event) => Number(event.eventTime!.seconds ?? 0) * 1000 + Math.round((event.eventTime!.nanos ?? 0) / 1e6));
  }

  /** Cancels the workflow (its session ends cleanly), then stops the worker and the event API. */
  async stop(): Promise<void> {
    this.governing = false;
    await this.governor;
    await this.handle.cancel();
    await Promise.race([this.handle.result().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    await this.worker.stop();
    await this.api.measured.stop();
  }

  private governSource(): void {
    this.governing = true;
    this.governor = (async () => {
      let paused = true;
      while (this.governing) {
        const lead = this.api.head - (await this.committed()).offset;
        if (paused && lead <= MAX_LEAD / 2) {
          this.api.resume();
          paused = false;
        } else if (!paused && lead >= MAX_LEAD) {
          this.api.pause();
          paused = true;
        }
        await new Promise((resolve) => setTimeout(resolve, GOVERNOR_INTERVAL_MS));
      }
    })();
    // Surfaces in stop(); until then a failed governor must not end the process.
    this.governor.catch(() => undefined);
  }
}
