/**
 * The SSE wire format, read from bytes: lines ending in LF, CR or CRLF; `data:` lines joined by LF, `id:`,
 * `event:`, comments and other fields; a blank line ends an event, which is dispatched when it has data.
 * An event's data is handed over as bytes, valid only during the call (a view of the chunk): no string
 * is made of it here. (A decoder over whole chunks hands out slices of the chunk's string, and one
 * queued event then keeps its whole chunk alive.) Nothing is kept but the line being read.
 */

/** One event as it arrived: its `id:` (empty without one), its `event:` type (`message` without one) and its data's bytes. */
export interface SseEvent {
  id: string;
  type: string;
  data: Buffer;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const NEWLINE = Buffer.from('\n');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const DATA = Buffer.from('data');
const ID = Buffer.from('id');
const EVENT = Buffer.from('event');

export class SseMessageReader {
  /** The start of a line that continues in the next chunk. */
  private partial: Buffer[] = [];
  /** The previous chunk ended with CR: an LF at the start of this one belongs to it. */
  private afterCr = false;
  private atStreamStart = true;
  private id = '';
  private type = '';
  private data: Buffer[] = [];

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  push(bytes: Uint8Array): void {
    let chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.atStreamStart) {
      // A byte order mark at the very start is not part of the first line (it may come in pieces).
      if (this.partial.length > 0) chunk = Buffer.concat([...this.partial.splice(0), chunk]);
      if (chunk.byteLength < BOM.byteLength && BOM.subarray(0, chunk.byteLength).equals(chunk)) {
        if (chunk.byteLength > 0) this.partial.push(chunk);
        return;
      }
      this.atStreamStart = false;
      if (chunk.subarray(0, BOM.byteLength).equals(BOM)) chunk = chunk.subarray(BOM.byteLength);
    }
    let start = 0;
    if (this.afterCr && chunk[0] === LF) start = 1;
    this.afterCr = false;
    // Where the next CR is, found once per chunk rather than once per line (most streams have none).
    let nextCr = chunk.indexOf(CR, start);
    while (start < chunk.byteLength) {
      const nextLf = chunk.indexOf(LF, start);
      if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf(CR, start);
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextLf, nextCr);
      if (end === -1) {
        this.partial.push(chunk.subarray(start));
        return;
      }
      if (this.partial.length > 0) this.line(Buffer.concat([...this.partial.splice(0), chunk.subarray(start, end)]), 0, undefined);
      else this.line(chunk, start, end);
      start = end + 1;
      if (chunk[end] === CR) {
        if (end + 1 === chunk.byteLength) this.afterCr = true;
        else if (chunk[end + 1] === LF) start += 1;
      }
    }
  }

  /** The line `chunk[start..end)` (to the chunk's end without `end`). */
  private line(chunk: Buffer, start: number, end = chunk.byteLength): void {
    if (start === end) return this.dispatch();
    if (chunk[start] === COLON) return;
    const colon = chunk.indexOf(COLON, start);
    const nameEnd = colon === -1 || colon > end ? end : colon;
    let valueStart = nameEnd === end ? end : nameEnd + 1;
    if (valueStart < end && chunk[valueStart] === SPACE) valueStart += 1;
    if (named(chunk, start, nameEnd, DATA)) this.data.push(chunk.subarray(valueStart, end));
    else if (named(chunk, start, nameEnd, ID)) {
      const id = chunk.toString('utf8', valueStart, end);
      if (!id.includes('\0')) this.id = id;
    } else if (named(chunk, start, nameEnd, EVENT)) this.type = chunk.toString('utf8', valueStart, end);
    // `retry:` is not followed (reconnecting is the feed's own, with backoff); unknown fields are ignored.
  }

  private dispatch(): void {
    const { id, type, data } = this;
    this.id = '';
    this.type = '';
    this.data = [];
    if (data.length === 0) return;
    this.onEvent({ id, type: type || 'message', data: data.length === 1 ? data[0]! : Buffer.concat(data.flatMap((line, index) => (index === 0 ? [line] : [NEWLINE, line]))) });
  }
}

function named(chunk: Buffer, start: number, end: number, name: Buffer): boolean {
  return end - start === name.byteLength && chunk.compare(name, 0, name.byteLength, start, end) === 0;
}
