export type LogFields = Record<string, unknown>;

/** What the event API reports about itself; the project's telemetry logger fits it. */
export interface EventApiLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
}

export const SILENT: EventApiLog = { info: () => undefined, warn: () => undefined };
