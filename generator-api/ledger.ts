import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FRESH_START, type Resumption, type SequencePosition } from './sequence.js';

/** Offsets handed out per write of the state file: a crash skips at most this many, it never reuses one. */
export const OFFSET_LEASE = 2_000;

const stateSchema = z.object({
  version: z.literal(1),
  seed: z.string().min(1),
  seeded: z.boolean(),
  /** The last offset produced when the file was written … */
  head: z.int().min(0),
  /** … and the last one the run may have produced since (equal to `head` after a clean stop). */
  reservedThrough: z.int().min(0),
  /** Where the seed's sequence stood just after `head`. */
  position: z.object({ order: z.int().min(0), emitted: z.int().min(0), orderAt: z.int() }),
});
type SourceState = z.infer<typeof stateSchema>;

/**
 * The source's continuity under its data folder: offsets never go backwards across a restart, even
 * after a crash. Before producing past what the file allows, the run writes a new lease; a clean stop
 * writes the exact head.
 */
export class SourceLedger {
  private reservedThrough: number;

  private constructor(
    private readonly file: string,
    private readonly seed: string,
    private readonly seeded: boolean,
    resumedAfter: number,
  ) {
    this.reservedThrough = resumedAfter;
  }

  static open(dataDir: string, seed: string, seeded: boolean): { ledger: SourceLedger; resumption: Resumption } {
    const folder = path.join(dataDir, 'generator-api');
    mkdirSync(folder, { recursive: true });
    const file = path.join(folder, 'state.json');
    const state = existsSync(file) ? SourceLedger.read(file) : undefined;
    const resumption: Resumption = !state
      ? FRESH_START
      : seeded && state.seeded && state.seed === seed
        ? { after: state.reservedThrough, position: state.position, skip: state.reservedThrough - state.head }
        : { after: state.reservedThrough, skip: 0 };
    return { ledger: new SourceLedger(file, seed, seeded, resumption.after), resumption };
  }

  private static read(file: string): SourceState {
    let parsed;
    try {
      parsed = stateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (error) {
      throw new Error(`${file} is not JSON (${(error as Error).message}); remove it to restart the offsets at 1`, { cause: error });
    }
    if (!parsed.success) throw new Error(`${file} is not a generator state (${z.prettifyError(parsed.error)}); remove it to restart the offsets at 1`);
    return parsed.data;
  }

  /** Call before producing `offset`; writes a new lease when the current one is used up. */
  beforeProducing(offset: number, head: number, position: SequencePosition): void {
    if (offset > this.reservedThrough) this.write(head, head + OFFSET_LEASE, position);
  }

  /** A clean stop: the next start continues right after `head`. */
  close(head: number, position: SequencePosition): void {
    this.write(head, head, position);
  }

  private write(head: number, reservedThrough: number, position: SequencePosition): void {
    const state: SourceState = { version: 1, seed: this.seed, seeded: this.seeded, head, reservedThrough, position };
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state)}\n`);
    renameSync(temporary, this.file);
    this.reservedThrough = reservedThrough;
  }
}
