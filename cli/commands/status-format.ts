import type { IngestionStatus } from '../../contracts/ingestion.js';

const orDash = (value: number | string | null) => (value === null ? '–' : String(value));

/** The human-readable `ingest status`, one block per workflow. */
export function formatStatus(status: IngestionStatus): string {
  const byType = Object.entries(status.totals.byType)
    .map(([type, count]) => `${type} ${count}`)
    .join(', ');
  const rows: Array<[string, string]> = [
    ['workflow', `${status.workflowId} (${status.mode}, run ${status.runs})`],
    ['source', status.sourceUrl],
    ['state', status.paused ? `paused — ${status.paused.reason} (since ${status.paused.since})` : status.state],
    ['offset', `${status.position.offset} (epoch ${status.position.epoch})`],
    ['lag', `${orDash(status.lag.events)} events, ${orDash(status.lag.seconds)} s (source head ${orDash(status.lag.sourceHeadOffset)})`],
    ['rate', `${status.eventsPerSecond} events/s over the last session`],
    ['events', `${status.totals.events}${byType ? ` — ${byType}` : ''}`],
    ['rejected', String(status.totals.rejected)],
    ['recovered', `${status.totals.gapsFilled} gap events filled, ${status.totals.duplicatesSkipped} duplicates skipped, ${status.totals.sourceRestarts} source restarts, ${status.totals.eventsLostAtSource} lost at source`],
    ['last batch', orDash(status.lastBatchAt)],
    ['last error', status.lastError ? `${status.lastError.at}: ${status.lastError.message}` : 'none'],
  ];
  return rows.map(([label, value]) => `${label.padEnd(11)} ${value}`).join('\n');
}

/** `ingest status` for every stream: one line each. */
export function formatStatusTable(statuses: readonly IngestionStatus[]): string {
  const header = ['stream', 'mode', 'state', 'offset', 'lag events', 'lag s', 'events/s', 'last error'];
  const rows = statuses.map((status) => [
    status.stream,
    status.mode,
    status.paused ? `paused (${status.paused.reason})` : status.state,
    `${status.position.offset}${status.position.epoch > 1 ? ` (epoch ${status.position.epoch})` : ''}`,
    orDash(status.lag.events),
    orDash(status.lag.seconds === null ? null : Math.round(status.lag.seconds * 10) / 10),
    String(status.eventsPerSecond),
    status.lastError ? `${status.lastError.at}: ${status.lastError.message}` : '–',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}
