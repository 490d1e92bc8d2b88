import type { IngestionTotals, StreamPosition } from '../../workflows/messages.js';

/** What a workflow asks one consume or poll session to do. Events never travel through workflow history. */
export interface SessionRequest {
  stream: string;
  sourceUrl: string;
  position: StreamPosition;
  maxBatchEvents: number;
  maxBatchWaitMs: number;
  /** The session hands back its position after this long (a poll session ends earlier, once caught up). */
  sessionSeconds: number;
  pageSize: number;
}

export type SessionCounts = Omit<IngestionTotals, 'sessions'>;

export interface SessionReport extends SessionCounts {
  /** The last committed position. */
  position: StreamPosition;
  startedAt: string;
  endedAt: string;
  lastBatchAt: string | null;
  /** `ts` of the newest event committed, for lag in seconds. */
  lastEventTs: string | null;
  sourceHeadOffset: number | null;
  /** Polling: the last page was short, so there is nothing more to fetch now. */
  caughtUp: boolean;
}

export interface CheckpointRewind {
  stream: string;
  offset: number;
  epoch: number;
}
