/**
 * The durable state and message handling shared by the realtime and polling workflows: the committed
 * position (the checkpoint that replaces Airflow's `restaurant_stream_offset` Variable), pause/resume,
 * rewind, status, and continue-as-new. Deterministic: no I/O here, only activities.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { createIngestionActivities } from '../activities/ingestion/activities.js';
import {
  DEFAULT_STREAM,
  DEFAULT_TUNING,
  LEGACY_POLLING_WORKFLOW_ID,
  STREAM_SEARCH_ATTRIBUTE,
  emptyTotals,
  streamIngestionInputSchema,
  type IngestMode,
  type IngestionError,
  type IngestionStatus,
  type IngestionTotals,
  type IngestionTuning,
  type PauseState,
  type SessionReport,
  type SessionRequest,
  type StreamIngestionInput,
  type StreamPosition,
} from '../contracts/ingestion.js';
import { describeIssues } from '../events/issues.js';
import { MESSAGE_DESCRIPTIONS, pauseSignal, resumeSignal, rewindUpdate, statusQuery } from './messages.js';

type IngestionActivities = ReturnType<typeof createIngestionActivities>;

const checkpoints = proxyActivities<IngestionActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds' },
});

function sessionActivities(tuning: IngestionTuning) {
  return proxyActivities<IngestionActivities>({
    startToCloseTimeout: `${tuning.sessionSeconds + 120} seconds`,
    // A session heartbeats only when it makes progress (activities/ingestion/liveness.ts). A stuck one
    // gives itself up after 3 s without progress, and a killed worker's sessions are failed at once by
    // the others (its presence ends): this timeout is left for a frozen worker (SIGSTOP, a paused VM).
    // Longer than it was (3 s), a heartbeat every few seconds is enough: each one that reaches the
    // server is a write there, and 200 feeds' heartbeats were most of the dev server's CPU.
    heartbeatTimeout: '10 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '200 milliseconds', backoffCoefficient: 4, maximumInterval: '15 seconds', maximumAttempts: 4 },
  });
}

/**
 * Patches (see README, "Changing workflow code"): each names a change that alters the commands a
 * workflow issues. Histories recorded before a change replay down the old path.
 */
export const PATCHES = {
  /** Checkpoint reads and writes (rewind, start offset, resync) run one at a time. */
  serialisedCheckpoints: 'serialised-checkpoint-access',
  /** A source refusing the credentials pauses the stream with the reason instead of retrying. */
  pauseOnRefusedCredentials: 'pause-on-refused-credentials',
} as const;

/** Session failures no retry can cure: the stream pauses with the reason until an operator resumes it. */
const CREDENTIAL_FAILURES = new Set(['SourceCredentialsRefused', 'SourceCredentialsInvalid']);

const nowIso = () => new Date(Date.now()).toISOString();

/** Workflows started before streams were claimed (and inputs validated) replay as they ran. */
const STREAM_CLAIM_PATCH = 'stream-claim';
const streamKey = defineSearchAttributeKey(STREAM_SEARCH_ATTRIBUTE, SearchAttributeType.KEYWORD);

/** A wrong input (a Web UI start, say) fails the workflow at once, naming the field, instead of retrying an activity. */
function checkInput(input: unknown): void {
  const parsed = streamIngestionInputSchema.safeParse(input);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid workflow input: ${describeIssues(parsed.error, input, { root: 'input' })}`, 'InvalidWorkflowInput');
  }
}

/** Without a stream in its input, the single feed's polling workflow reads the realtime one's stream. */
function defaultStreamOf(workflowId: string): string {
  return workflowId === LEGACY_POLLING_WORKFLOW_ID ? DEFAULT_STREAM : workflowId;
}

export class StreamIngestion {
  readonly stream: string;
  readonly sourceUrl: string;
  readonly tuning: IngestionTuning;
  position: StreamPosition;
  paused: PauseState | null;
  totals: IngestionTotals;
  lastError: IngestionError | null = null;
  lastReport: SessionReport | null = null;
  state: IngestionStatus['state'] = 'consuming';
  private readonly startedAt: string;
  private readonly runs: number;
  private rewinding = false;
  private consuming = false;
  /** Held while a checkpoint activity (read, rewind) is in flight: see withCheckpoint. */
  private checkpointBusy = false;
  private session: CancellationScope | undefined;
  private readonly activities: IngestionActivities;
  private readonly claimsStream: boolean;

  constructor(
    readonly mode: IngestMode,
    private readonly input: StreamIngestionInput,
  ) {
    const info = workflowInfo();
    this.claimsStream = patched(STREAM_CLAIM_PATCH);
    if (this.claimsStream) checkInput(input);
    this.stream = input.stream ?? (this.claimsStream ? defaultStreamOf(info.workflowId) : info.workflowId);
    this.sourceUrl = input.sourceUrl;
    this.tuning = { ...DEFAULT_TUNING, ...input.tuning };
    this.position = input.position ?? { offset: 0, epoch: 1, lastEventId: null };
    this.paused = input.paused ?? null;
    this.totals = input.totals ?? emptyTotals();
    this.startedAt = input.startedAt ?? nowIso();
    this.runs = (input.runsSoFar ?? 0) + 1;
    this.activities = sessionActivities(this.tuning);

    setHandler(
      pauseSignal,
      (request) => {
        if (!this.paused) this.paused = { reason: request?.reason ?? 'paused by an operator', since: nowIso() };
        this.session?.cancel();
        this.publishDetails();
      },
      { description: MESSAGE_DESCRIPTIONS.pause },
    );
    setHandler(
      resumeSignal,
      () => {
        this.paused = null;
        this.publishDetails();
      },
      { description: MESSAGE_DESCRIPTIONS.resume },
    );
    setHandler(statusQuery, () => this.status(), { description: MESSAGE_DESCRIPTIONS.status });
    setHandler(
      rewindUpdate,
      async ({ offset, epoch }) => {
        this.rewinding = true;
        try {
          this.session?.cancel();
          await condition(() => !this.consuming);
          return await this.withCheckpoint(async () => {
            const previous = (await checkpoints.readCheckpoint(this.stream)) ?? { ...this.position };
            const position = await checkpoints.rewindCheckpoint({ stream: this.stream, offset, epoch: epoch ?? previous.epoch });
            this.position = position;
            this.publishDetails();
            return { previous, position };
          });
        } finally {
          this.rewinding = false;
        }
      },
      {
        description: MESSAGE_DESCRIPTIONS.rewind,
        validator: ({ offset, epoch }) => {
          if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`offset must be a whole number ≥ 0, got ${offset}`);
          if (epoch !== undefined && (!Number.isSafeInteger(epoch) || epoch < 1)) throw new Error(`epoch must be a whole number ≥ 1, got ${epoch}`);
        },
      },
    );
    this.publishDetails();
  }

  status(): IngestionStatus {
    const report = this.lastReport;
    const head = report?.sourceHeadOffset ?? null;
    const elapsedSeconds = report ? (Date.parse(report.endedAt) - Date.parse(report.startedAt)) / 1000 : 0;
    return {
      workflowId: workflowInfo().workflowId,
      mode: this.mode,
      stream: this.stream,
      sourceUrl: this.sourceUrl,
      state: this.paused ? 'paused' : this.state,
      position: this.position,
      paused: this.paused,
      eventsPerSecond: report && elapsedSeconds > 0 ? Math.round(report.events / elapsedSeconds) : 0,
      totals: this.totals,
      lag: {
        sourceHeadOffset: head,
        events: head === null ? null : Math.max(0, head - this.position.offset),
        seconds: report?.lastEventTs ? Math.max(0, (Date.parse(report.endedAt) - Date.parse(report.lastEventTs)) / 1000) : null,
      },
      lastBatchAt: report?.lastBatchAt ?? null,
      lastSessionEndedAt: report?.endedAt ?? null,
      lastError: this.lastError,
      startedAt: this.startedAt,
      runs: this.runs,
      tuning: this.tuning,
    };
  }

  /** Where a new workflow begins: an explicit start offset, else the committed checkpoint, else 0. */
  async initialise(): Promise<void> {
    if (this.claimsStream) await this.claimStream();
    if (this.input.position) return;
    const startFrom = this.input.startFrom;
    if (startFrom !== undefined) {
      await this.withCheckpoint(async () => {
        this.position = await checkpoints.rewindCheckpoint({ stream: this.stream, offset: startFrom, epoch: this.position.epoch });
      });
      this.publishDetails();
    } else {
      await this.resyncPosition();
    }
  }

  /** Becomes the stream's only reader, or fails at once naming the workflow that reads it. */
  private async claimStream(): Promise<void> {
    const { workflowId } = workflowInfo();
    const claim = await checkpoints.claimStream({ stream: this.stream, workflowId, mode: this.mode });
    if (claim.heldBy) {
      throw ApplicationFailure.nonRetryable(
        `stream ${this.stream} is already read by the running workflow ${claim.heldBy}; two workflows never consume one stream: switch with \`restaurant-stack ingest restart --stream ${this.stream} --mode ${this.mode}\`, or stop ${claim.heldBy} first`,
        'StreamAlreadyConsumed',
      );
    }
    if (claim.searchAttribute) upsertSearchAttributes([{ key: streamKey, value: this.stream }]);
  }

  /** Waits while paused or rewinding; then continues as new if Temporal suggests it. */
  async readyForNextSession(): Promise<void> {
    await condition(() => !this.paused && !this.rewinding);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      const { startFrom: _startedFrom, ...input } = this.input;
      const carried: StreamIngestionInput = {
        ...input,
        stream: this.stream,
        position: this.position,
        paused: this.paused,
        totals: this.totals,
        startedAt: this.startedAt,
        runsSoFar: this.runs,
      };
      await continueAsNew<(input: StreamIngestionInput) => Promise<IngestionStatus>>(carried);
    }
  }

  /**
   * Runs one consume or poll session in a cancellable scope. On success the workflow's position moves
   * to what the session committed; after a cancellation (pause, rewind) or a failure, it is re-read
   * from the warehouse checkpoint, which is written in the same transaction as the data.
   */
  /** True when the session ran to its end; false when a pause or rewind cancelled it. */
  async runSession(kind: 'consumeStream' | 'pollStream'): Promise<boolean> {
    const request: SessionRequest = {
      stream: this.stream,
      sourceUrl: this.sourceUrl,
      position: this.position,
      maxBatchEvents: this.tuning.maxBatchEvents,
      maxBatchWaitMs: this.tuning.maxBatchWaitMs,
      sessionSeconds: this.tuning.sessionSeconds,
      pageSize: this.tuning.pageSize,
      credentials: this.input.sourceCredentials,
    };
    this.session = new CancellationScope();
    this.consuming = true;
    this.state = 'consuming';
    try {
      const report = await this.session.run(() => this.activities[kind](request));
      this.applyReport(report);
      this.lastError = null;
      return true;
    } catch (error) {
      if (!isCancellation(error) || CancellationScope.current().consideredCancelled) throw error;
      return false;
    } finally {
      this.consuming = false;
      this.session = undefined;
    }
  }

  async recoverFrom(error: unknown): Promise<void> {
    this.lastError = { message: describe(error), at: nowIso() };
    const failureType = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause.type : undefined;
    if (failureType && CREDENTIAL_FAILURES.has(failureType) && patched(PATCHES.pauseOnRefusedCredentials)) {
      // Retrying with the same credentials only hammers the source: wait for an operator's `resume`.
      this.paused = { reason: `the source refused the credentials — fix them on the workers, then resume (${this.lastError.message})`, since: this.lastError.at };
      this.publishDetails();
      return;
    }
    this.state = 'recovering';
    this.publishDetails();
    await sleep('5 seconds');
  }

  /** The warehouse checkpoint is the truth after anything but a clean session end. */
  async resyncPosition(): Promise<void> {
    await condition(() => !this.rewinding);
    await this.withCheckpoint(async () => {
      const committed = await checkpoints.readCheckpoint(this.stream);
      if (committed) this.position = committed;
    });
    this.publishDetails();
  }

  /**
   * Runs checkpoint activities one at a time, so a rewind accepted while a resync's read is in flight
   * is applied after it, never undone by its late result.
   */
  private async withCheckpoint<T>(access: () => Promise<T>): Promise<T> {
    if (!patched(PATCHES.serialisedCheckpoints)) return access();
    await condition(() => !this.checkpointBusy);
    this.checkpointBusy = true;
    try {
      return await access();
    } finally {
      this.checkpointBusy = false;
    }
  }

  private applyReport(report: SessionReport): void {
    this.lastReport = report;
    this.position = report.position;
    const totals = this.totals;
    totals.events += report.events;
    totals.rejected += report.rejected;
    totals.duplicatesSkipped += report.duplicatesSkipped;
    totals.gapsFilled += report.gapsFilled;
    totals.eventsLostAtSource += report.eventsLostAtSource;
    totals.sourceRestarts += report.sourceRestarts;
    totals.batches += report.batches;
    totals.sessions += 1;
    for (const [type, count] of Object.entries(report.byType)) totals.byType[type] = (totals.byType[type] ?? 0) + count;
    this.publishDetails();
  }

  publishDetails(): void {
    const s = this.status();
    const lines = [
      `**${s.mode} ingestion of \`${s.stream}\`** from ${s.sourceUrl}`,
      `state: ${s.state}${s.paused ? ` — ${s.paused.reason} (since ${s.paused.since})` : ''}`,
      `offset ${s.position.offset} (epoch ${s.position.epoch}); lag ${s.lag.events ?? '?'} events / ${s.lag.seconds ?? '?'} s`,
      `events ${s.totals.events} (${s.eventsPerSecond}/s last session), rejected ${s.totals.rejected}, duplicates skipped ${s.totals.duplicatesSkipped}, gaps filled ${s.totals.gapsFilled}, source restarts ${s.totals.sourceRestarts}`,
      s.lastError ? `last error at ${s.lastError.at}: ${s.lastError.message}` : 'no errors',
    ];
    setCurrentDetails(lines.join('\n\n'));
  }
}

function describe(error: unknown): string {
  if (error instanceof ApplicationFailure || error instanceof Error) {
    const cause = (error as { cause?: Error }).cause;
    return cause ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/** The loop both workflows share; `between` runs after each session (the polling workflow waits there). */
export async function runIngestion(ingestion: StreamIngestion, kind: 'consumeStream' | 'pollStream', between?: () => Promise<void>): Promise<IngestionStatus> {
  try {
    await ingestion.initialise();
    for (;;) {
      await ingestion.readyForNextSession();
      let completed: boolean;
      try {
        completed = await ingestion.runSession(kind);
      } catch (error) {
        if (isCancellation(error)) throw error;
        await ingestion.recoverFrom(error);
        completed = false;
      }
      if (!completed) await ingestion.resyncPosition();
      else if (between) await between();
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // `ingest stop` cancels the workflow: end with the final committed position in the result.
    await CancellationScope.nonCancellable(() => ingestion.resyncPosition());
    return ingestion.status();
  }
}
