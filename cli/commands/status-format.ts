import type { StreamStatus } from '../../contracts/ingestion.js';

const orDash = (value: number | string | null) => (value === null ? '–' : String(value));

/** A time with its age at the status's `asOf`: "2026-12-04T10:01:02.000Z (25.1 s ago)". */
const withAge = (time: string | null, ageSeconds: number | null) => (time === null ? 'unknown' : `${time} (${ageSeconds} s ago)`);

/** The state, with since when for a paused stream or one waiting for a worker. */
function stateOf(status: StreamStatus): string {
  if (status.unanswered === undefined && status.paused) return `paused — ${status.paused.reason} (since ${status.paused.since})`;
  const since = status.reading.waitingForWorkerSince;
  if (since !== null) return `waiting for a worker since ${since} (${Math.round((Date.parse(status.reading.asOf) - Date.parse(since)) / 100) / 10} s)`;
  return status.state;
}

/** The human-readable `ingest status`, one block per workflow. */
export function formatStatus(status: StreamStatus): string {
  const { reading } = status;
  const session = reading.session;
  const now: Array<[string, string]> = [
    ['state', stateOf(status)],
    ['last read', withAge(reading.lastReadAt, reading.secondsSinceLastRead)],
    ['committed', withAge(reading.lastCommittedAt, reading.secondsSinceLastCommit)],
    ['session', session ? `${session.activity} on ${session.worker || 'a worker'} since ${orDash(session.startedAt)} (attempt ${session.attempt})` : 'none running'],
  ];
  let rows: Array<[string, string]>;
  if (status.unanswered !== undefined) {
    rows = [['workflow', `${status.workflowId} (${status.mode})`], ...now, ['unanswered', status.unanswered]];
  } else {
    const byType = Object.entries(status.totals.byType)
      .map(([type, count]) => `${type} ${count}`)
      .join(', ');
    rows = [
      ['workflow', `${status.workflowId} (${status.mode}, run ${status.runs})`],
      ['source', status.sourceUrl],
      ...now,
      ['offset', `${status.position.offset} (epoch ${status.position.epoch})`],
      ['lag', `${orDash(status.lag.events)} events, ${orDash(status.lag.seconds)} s (source head ${orDash(status.lag.sourceHeadOffset)})`],
      ['rate', `${status.eventsPerSecond} events/s over the last session`],
      ['events', `${status.totals.events}${byType ? ` — ${byType}` : ''}`],
      ['rejected', String(status.totals.rejected)],
      ['recovered', `${status.totals.gapsFilled} gap events filled, ${status.totals.duplicatesSkipped} duplicates skipped, ${status.totals.sourceRestarts} source restarts, ${status.totals.eventsLostAtSource} lost at source`],
      ['last error', status.lastError ? `${status.lastError.at}: ${status.lastError.message}` : 'none'],
    ];
  }
  rows.push(['as of', reading.asOf]);
  return rows.map(([label, value]) => `${label.padEnd(11)} ${value}`).join('\n');
}

const secondsAgo = (value: number | null) => (value === null ? '–' : `${value} s`);

/** `ingest status` for every stream: one line each. */
export function formatStatusTable(statuses: readonly StreamStatus[]): string {
  const header = ['stream', 'mode', 'state', 'read ago', 'committed ago', 'offset', 'lag events', 'lag s', 'events/s', 'last error'];
  const rows = statuses.map((status) => {
    const now = [status.stream, status.mode, stateOf(status), secondsAgo(status.reading.secondsSinceLastRead), secondsAgo(status.reading.secondsSinceLastCommit)];
    if (status.unanswered !== undefined) return [...now, '–', '–', '–', '–', status.unanswered];
    return [
      ...now,
      `${status.position.offset}${status.position.epoch > 1 ? ` (epoch ${status.position.epoch})` : ''}`,
      orDash(status.lag.events),
      orDash(status.lag.seconds === null ? null : Math.round(status.lag.seconds * 10) / 10),
      String(status.eventsPerSecond),
      status.lastError ? `${status.lastError.at}: ${status.lastError.message}` : '–',
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}
