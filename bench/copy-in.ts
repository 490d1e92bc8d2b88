import type pg from 'pg';

/*
 * `COPY … FROM STDIN` without a stream helper package: node-postgres runs any object with a `submit`
 * method as a query (a Submittable) and hands it the protocol messages; this one answers the server's
 * CopyInResponse with the data and CopyDone. Rows are encoded in COPY's text format beforehand.
 */

/** A value in COPY text format: `\N` for null, backslash escapes for the characters the format reserves. */
function field(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : `${value as string}`;
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] ?? c) : text;
}

/** Rows as COPY text, in chunks of about `chunkBytes` (the unit written to the socket). */
export function encodeCopyText(rows: readonly (readonly unknown[])[], chunkBytes = 1 << 20): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  let size = 0;
  for (const row of rows) {
    const line = `${row.map(field).join('\t')}\n`;
    lines.push(line);
    size += line.length;
    if (size >= chunkBytes) {
      chunks.push(Buffer.from(lines.join('')));
      lines = [];
      size = 0;
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(lines.join('')));
  return chunks;
}

interface CopyConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

class CopyFromStdin {
  callback: ((error: Error | null) => void) | undefined;
  private rowCount = 0;
  private failed = false;

  constructor(
    private readonly sql: string,
    private readonly chunks: readonly Buffer[],
  ) {}

  submit(connection: { query(text: string): void }): void {
    connection.query(this.sql);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    void this.send(connection);
  }

  handleCommandComplete(message: { text: string }): void {
    this.rowCount = Number(message.text.split(' ')[1] ?? 0);
  }

  /** node-postgres detaches a query on error: ReadyForQuery will not reach it, so this settles it. */
  handleError(error: Error): void {
    this.failed = true;
    this.callback?.(error);
  }

  handleReadyForQuery(): void {
    this.callback?.(null);
  }

  handleEmptyQuery(): void {}

  get rows(): number {
    return this.rowCount;
  }

  /** Writes the chunks, waiting for the socket to drain so the data is not all buffered in memory at once. */
  private async send(connection: CopyConnection): Promise<void> {
    for (const chunk of this.chunks) {
      if (this.failed) return;
      connection.sendCopyFromChunk(chunk);
      if (connection.stream.writableNeedDrain) await new Promise((resolve) => connection.stream.once('drain', resolve));
    }
    connection.endCopyFrom();
  }
}

/** Runs `COPY <target> FROM STDIN` with the encoded chunks; resolves with the rows copied. */
export function copyFrom(client: pg.ClientBase, target: string, chunks: readonly Buffer[]): Promise<number> {
  const copy = new CopyFromStdin(`COPY ${target} FROM STDIN`, chunks);
  return new Promise((resolve, reject) => {
    copy.callback = (error) => (error ? reject(error) : resolve(copy.rows));
    client.query(copy as unknown as pg.Submittable);
  });
}
