import { createRequire } from 'node:module';
import pg from 'pg';
import type { SqlClient } from '../../processors/processor.js';

/*
 * node-postgres sends a statement only after the previous one's ReadyForQuery: one round trip each,
 * and on a busy machine every round trip is two wake-ups (worker, then backend) waiting for a CPU. A
 * batch's statements do not depend on each other's results, so they go out together: Parse, Bind,
 * Describe and Execute for each, then one Sync. PostgreSQL runs them in order; an error skips the rest
 * up to the Sync (the batch's transaction is then rolled back as a whole).
 */

interface Statement {
  readonly text: string;
  /** Emptied once bound: a batch's parameters (up to a megabyte of JSON each) then die young, not with the round trip. */
  values: readonly unknown[];
  resolve: (result: { rows: Record<string, unknown>[]; rowCount: number | null }) => void;
  reject: (error: Error) => void;
}

function queuedStatement(text: string, values: readonly unknown[]): Statement {
  const unsettled = () => {
    throw new Error('a statement settled before it was queued');
  };
  return { text, values, resolve: unsettled, reject: unsettled };
}

/** pg's row parser (exported at runtime, not in its type definitions). */
interface ResultBuilder {
  rows: Record<string, unknown>[];
  rowCount: number | null;
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Record<string, unknown>;
  addRow(row: Record<string, unknown>): void;
  addCommandComplete(message: unknown): void;
}
const ResultBuilder = (pg as unknown as { Result: new () => ResultBuilder }).Result;
/** How node-postgres turns a JavaScript value into a parameter's text (its own Query uses it). */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (value: unknown) => unknown };

interface ProtocolConnection {
  readonly stream: { cork?(): void; uncork?(): void };
  parse(query: { text: string }): void;
  bind(config: { values: readonly unknown[]; valueMapper: typeof prepareValue }): void;
  describe(target: { type: 'P'; name: string }): void;
  execute(config: { portal: string }): void;
  sync(): void;
}

const SENT: readonly unknown[] = [];

/** One round trip of statements, as a node-postgres Submittable. */
class PipelinedStatements {
  private next = 0;
  private current: ResultBuilder = new ResultBuilder();
  private failed: Error | undefined;

  constructor(private readonly statements: readonly Statement[]) {}

  submit(connection: ProtocolConnection): void {
    connection.stream.cork?.();
    try {
      for (const statement of this.statements) {
        connection.parse({ text: statement.text });
        connection.bind({ values: statement.values, valueMapper: prepareValue });
        statement.values = SENT;
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '' });
      }
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
  }

  handleRowDescription(message: { fields: unknown[] }): void {
    this.current.addFields(message.fields);
  }

  handleDataRow(message: { fields: unknown[] }): void {
    this.current.addRow(this.current.parseRow(message.fields));
  }

  handleCommandComplete(message: unknown): void {
    this.current.addCommandComplete(message);
    this.statements[this.next]?.resolve({ rows: this.current.rows, rowCount: this.current.rowCount });
    this.next += 1;
    this.current = new ResultBuilder();
  }

  handleEmptyQuery(): void {
    this.handleCommandComplete({});
  }

  /** node-postgres detaches the query on an error: ReadyForQuery will not reach it, so this settles the rest. */
  handleError(error: Error): void {
    this.failed = error;
    for (const statement of this.statements.slice(this.next)) statement.reject(error);
    this.next = this.statements.length;
  }

  handleReadyForQuery(): void {
    const unanswered = new Error('the pipeline ended before this statement was answered');
    for (const statement of this.statements.slice(this.next)) statement.reject(this.failed ?? unanswered);
  }

  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

/**
 * A SqlClient that queues statements and sends them together: `flush` sends what is queued, and again
 * what the answers led to (a processor's statement after an `await`), until nothing is left. A
 * statement queued while no flush runs is sent on the next turn of the event loop, so none is left
 * waiting.
 */
export class StatementPipeline implements SqlClient {
  private queued: Statement[] = [];
  private flushing = false;
  private abandoned = false;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly client: pg.ClientBase) {}

  query<Row extends Record<string, unknown> = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<{ rows: Row[]; rowCount: number | null }> {
    // Closures here share one scope: it holds the statement, which lets go of its values once sent,
    // and never the values themselves, which it would keep until the statement is answered.
    const statement = queuedStatement(text, values);
    const answered = new Promise<{ rows: Row[]; rowCount: number | null }>((resolve, reject) => {
      statement.resolve = resolve as Statement['resolve'];
      statement.reject = reject;
      if (this.abandoned) reject(new Error('the statement pipeline was abandoned'));
      else this.queued.push(statement);
    });
    // After a failed statement the rest are rejected too, awaited or not: never an unhandled rejection.
    answered.catch(() => undefined);
    if (!this.flushing && this.queued.length === 1) setImmediate(() => void this.flush());
    return answered;
  }

  async flush(): Promise<void> {
    if (this.flushing || this.abandoned) return;
    this.flushing = true;
    try {
      while (this.queued.length > 0) {
        const statements = this.queued;
        this.queued = [];
        this.inFlight = this.send(statements);
        await this.inFlight;
        // Let the answered statements' continuations queue what they issue next.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Sends nothing more (what is queued is rejected) and waits for the round trip in flight, if any. */
  async abandon(): Promise<void> {
    this.abandoned = true;
    const error = new Error('the statement pipeline was abandoned');
    for (const statement of this.queued) statement.reject(error);
    this.queued = [];
    await this.inFlight;
  }

  private send(statements: Statement[]): Promise<void> {
    return new Promise((resolve) => {
      // The statements settle their own promises; this only learns when the round trip is over.
      const last = statements.at(-1)!;
      const answer = last.resolve.bind(last);
      const fail = last.reject.bind(last);
      last.resolve = (result) => {
        answer(result);
        resolve();
      };
      last.reject = (error) => {
        fail(error);
        resolve();
      };
      this.client.query(new PipelinedStatements(statements) as unknown as pg.Submittable);
    });
  }
}
