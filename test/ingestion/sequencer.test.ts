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

  it('tells a redelivery from a new event at a remembered offset, whatever the form of its event_id', () => {
    const sequencer = new StreamSequencer({ offset: 0, epoch: 1, lastEventId: null });
    const upperCase = 'A0000000-0000-4000-8000-00000000000B';
    sequencer.accept(1, id(1));
    sequencer.accept(2, 'not-a-uuid');
    sequencer.accept(3, upperCase);
    sequencer.accept(7, null);
    sequencer.accept(8, 'ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(sequencer.place(1, id(1))).toEqual({ kind: 'behind', seenHere: true });
    expect(sequencer.place(1, id(2))).toEqual({ kind: 'behind', seenHere: false });
    expect(sequencer.place(1, null)).toEqual({ kind: 'behind', seenHere: true });
    expect(sequencer.place(2, 'not-a-uuid')).toEqual({ kind: 'behind', seenHere: true });
    expect(sequencer.place(2, 'not-a-uuid-either')).toEqual({ kind: 'behind', seenHere: false });
    expect(sequencer.place(2, id(2))).toEqual({ kind: 'behind', seenHere: false });
    expect(sequencer.place(3, upperCase)).toEqual({ kind: 'behind', seenHere: true });
    expect(sequencer.place(3, upperCase.toLowerCase())).toEqual({ kind: 'behind', seenHere: false });
    expect(sequencer.place(5, null)).toEqual({ kind: 'behind', seenHere: false });
    expect(sequencer.place(7, null)).toEqual({ kind: 'behind', seenHere: true });
    expect(sequencer.place(7, id(7))).toEqual({ kind: 'behind', seenHere: false });
    expect(sequencer.place(8, 'ffffffff-ffff-4fff-bfff-ffffffffffff')).toEqual({ kind: 'behind', seenHere: true });
    expect(sequencer.place(8, 'ffffffff-ffff-4fff-bfff-fffffffffffe')).toEqual({ kind: 'behind', seenHere: false });
  });

  it('keeps exactly its last events across growth and wrap-around', () => {
    const capacity = 1_000;
    const sequencer = new StreamSequencer({ offset: 0, epoch: 1, lastEventId: null }, capacity);
    const lost = new Set([1_500, 3_333]);
    for (let offset = 1; offset <= 3_456; offset++) sequencer.accept(offset, lost.has(offset) ? null : offset % 7 === 0 ? `event-${offset}` : id(offset));
    for (const offset of [1, 2_300, 2_456]) expect(sequencer.place(offset, id(offset))).toEqual({ kind: 'behind', seenHere: false });
    for (let offset = 2_457; offset <= 3_456; offset++) {
      const eventId = lost.has(offset) ? null : offset % 7 === 0 ? `event-${offset}` : id(offset);
      expect(sequencer.place(offset, eventId)).toEqual({ kind: 'behind', seenHere: true });
      if (eventId !== null) expect(sequencer.place(offset, id(offset + 1))).toEqual({ kind: 'behind', seenHere: false });
    }
  });
});
