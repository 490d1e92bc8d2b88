/**
 * Bounds what one SSE event may cost before any parser sees it. The `eventsource` parser buffers a line
 * without limit, so one 400 MB `data:` line exhausted the worker's heap on every retry. The bound
 * holds each event's block of lines (up to the blank line that ends it) and passes it on whole; a block
 * that grows past `maxEventBytes` is dropped as it streams, counted, and replaced by a small event of
 * type OVERSIZED_EVENT_TYPE saying its offset, size and first bytes, so the stream moves past it.
 */

export const OVERSIZED_EVENT_TYPE = 'restaurant-stack.oversized-event';

/** What an OVERSIZED_EVENT_TYPE event's data holds. */
export interface OversizedEvent {
  offset: number | null;
  bytes: number;
  head: string;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const HEAD_BYTES = 1_024;
const encoder = new TextEncoder();

/**
 * A bound for one connection: given each chunk read, returns the whole events it completed (in one
 * piece), or undefined. A plain function rather than a TransformStream: with hundreds of quiet feeds
 * every event is a chunk of its own, and each stream stage costs several promises per chunk.
 */
export function boundSseEvents(maxEventBytes: number): (chunk: Uint8Array) => Uint8Array | undefined {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  /** Set once the block passed the bound: its first bytes and its size so far. */
  let oversized: { head: Uint8Array; bytes: number } | null = null;
  let lineBytes = 0;
  let lineStartsWithCr = false;

  const add = (piece: Uint8Array) => {
    if (lineBytes === 0) lineStartsWithCr = piece[0] === CARRIAGE_RETURN;
    lineBytes += piece.byteLength;
    if (oversized) {
      oversized.bytes += piece.byteLength;
      return;
    }
    if (heldBytes + piece.byteLength <= maxEventBytes) {
      held.push(piece);
      heldBytes += piece.byteLength;
      return;
    }
    const bytes = heldBytes + piece.byteLength;
    oversized = { head: concat([...held, piece.subarray(0, HEAD_BYTES)]).subarray(0, HEAD_BYTES), bytes };
    held = [];
    heldBytes = 0;
  };

  /** Whole events of the chunk being read: passed on together, one chunk downstream per chunk read. */
  let ready: Uint8Array[] = [];

  const endLine = () => {
    const blank = lineBytes === 1 || (lineBytes === 2 && lineStartsWithCr);
    lineBytes = 0;
    if (!blank) return;
    if (oversized) {
      ready.push(encoder.encode(replacement(oversized.head, oversized.bytes)));
      oversized = null;
      return;
    }
    ready.push(...held);
    held = [];
    heldBytes = 0;
  };

  return (chunk) => {
    let start = 0;
    while (start < chunk.byteLength) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.byteLength : newline + 1;
      add(chunk.subarray(start, end));
      if (newline !== -1) endLine();
      start = end;
    }
    const events = ready.length === 0 ? undefined : ready.length === 1 ? ready[0]! : concat(ready);
    ready = [];
    return events;
  };
}

function concat(pieces: Uint8Array[]): Uint8Array {
  return Buffer.concat(pieces);
}

function replacement(headBytes: Uint8Array, bytes: number): string {
  const head = Buffer.from(headBytes).toString('utf8');
  const id = /^id:\s?(\d+)\r?$/m.exec(head)?.[1];
  const offset = id === undefined ? null : Number(id);
  const event: OversizedEvent = { offset: Number.isSafeInteger(offset) ? offset : null, bytes, head };
  return `${offset === null ? '' : `id: ${offset}\n`}event: ${OVERSIZED_EVENT_TYPE}\ndata: ${JSON.stringify(event)}\n\n`;
}
