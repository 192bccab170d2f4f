// Which cut passes an aggregate missed, from the orders it lacks per key.
import { describe, expect, it } from 'vitest';
import { attributeGaps, MAX_PASSES, type PassKeys } from '../../src/operations/cut-pass-attribution.js';

const pass = (at: number, ids: Record<string, number>): PassKeys => ({
  at,
  ids: new Map(Object.entries(ids)),
});
const gaps = (g: Record<string, number>) => new Map(Object.entries(g));
const kinds = (m: Map<number, { kind: string }>) => Object.fromEntries([...m].map(([at, a]) => [at, a.kind]));

describe('attributeGaps', () => {
  it('tells passes apart on shared keys when one set of them adds up', () => {
    const passes = [pass(1, { a: 3 }), pass(2, { a: 5, b: 1 }), pass(3, { b: 7 })];
    expect(kinds(attributeGaps(passes, gaps({ a: 3, b: 7 })))).toEqual({
      1: 'missed',
      2: 'had',
      3: 'missed',
    });
    expect(kinds(attributeGaps(passes, gaps({})))).toEqual({ 1: 'had', 2: 'had', 3: 'had' });
  });

  it('is unclear when no set of passes adds up to the gap', () => {
    expect(kinds(attributeGaps([pass(1, { a: 1 })], gaps({ a: 2 })))).toEqual({ 1: 'unclear' });
    expect(kinds(attributeGaps([pass(1, { a: 1 })], gaps({ a: -1 })))).toEqual({ 1: 'unclear' });
  });

  it('is unclear for the passes two sets disagree on, and sure of the others', () => {
    const passes = [pass(1, { a: 2 }), pass(2, { a: 2 }), pass(3, { b: 4 })];
    expect(kinds(attributeGaps(passes, gaps({ a: 2, b: 4 })))).toEqual({
      1: 'unclear',
      2: 'unclear',
      3: 'missed',
    });
  });

  it('does not try the subsets of too many passes', () => {
    const passes = Array.from({ length: MAX_PASSES + 1 }, (_, i) => pass(i, { [`k${i}`]: 1 }));
    expect(new Set(Object.values(kinds(attributeGaps(passes, gaps({})))))).toEqual(new Set(['unclear']));
  });
});
