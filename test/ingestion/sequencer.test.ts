import { describe, expect, it } from 'vitest';
import { StreamSequencer } from '../../activities/ingestion/sequencer.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('StreamSequencer', () => {
  it('places the next offset, a gap, and offsets behind the position', () => {
    const sequencer = new StreamSequencer({ offset: 10, epoch: 1, lastEventId: id(10) });
    expect(sequencer.place(11, id(11))).toEqual({ kind: 'next' });
    expect(sequencer.place(15, id(15))).toEqual({ kind: 'gap', from: 11, to: 14 });
    expect(sequencer.place(10, id(10))).toEqual({ kind: 'behind', seenHere: true });
    expect(sequencer.place(10, id(99))).toEqual({ kind: 'behind', seenHere: false });
    expect(sequencer.place(3, id(3))).toEqual({ kind: 'behind', seenHere: false });
  });

  it('remembers accepted events so a redelivery is recognised as a duplicate', () => {
    const sequencer = new StreamSequencer({ offset: 0, epoch: 1, lastEventId: null });
    for (let offset = 1; offset <= 5; offset++) sequencer.accept(offset, id(offset));
    expect(sequencer.position).toEqual({ offset: 5, epoch: 1, lastEventId: id(5) });
    expect(sequencer.place(3, id(3))).toEqual({ kind: 'behind', seenHere: true });
  });

  it('forgets the oldest events beyond its capacity', () => {
    const sequencer = new StreamSequencer({ offset: 0, epoch: 1, lastEventId: null }, 3);
    for (let offset = 1; offset <= 5; offset++) sequencer.accept(offset, id(offset));
    expect(sequencer.place(2, id(2))).toEqual({ kind: 'behind', seenHere: false });
    expect(sequencer.place(4, id(4))).toEqual({ kind: 'behind', seenHere: true });
  });

  it('starts a new epoch at offset 0 when the source restarted', () => {
    const sequencer = new StreamSequencer({ offset: 500, epoch: 2, lastEventId: id(500) });
    expect(sequencer.startNewEpoch()).toEqual({ offset: 0, epoch: 3, lastEventId: null });
    expect(sequencer.place(1, id(1001))).toEqual({ kind: 'next' });
  });

  it('jumps over offsets recorded as lost', () => {
    const sequencer = new StreamSequencer({ offset: 1, epoch: 1, lastEventId: id(1) });
    sequencer.accept(9, null);
    expect(sequencer.place(10, id(10))).toEqual({ kind: 'next' });
  });
});
