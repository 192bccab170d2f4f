/**
 * Which cut passes an aggregate missed, from the orders it lacks per key: each pass reached the
 * aggregate whole or not at all, so the orders missing on a key are the sum of the missed
 * passes' ids on that key. Used by src/operations/cut-pass-repair.ts.
 */

/** One pass's ids per key of the aggregate (keys as the caller spells them). */
export interface PassKeys {
  at: number;
  ids: ReadonlyMap<string, number>;
}

/** What the per-key gaps say about one pass. */
export type Attribution = { kind: 'had' } | { kind: 'missed' } | { kind: 'unclear'; reason: string };

/** Beyond this many passes the 2^n subsets are not tried (one kill cuts at most one pass). */
export const MAX_PASSES = 12;

/**
 * For each pass, whether every set of passes that explains `gaps` (stored orders short of
 * the raw table's distinct ids, per key the passes touch; a key absent means 0) leaves it out
 * (`had`) or holds it (`missed`). No such set, or sets that disagree on a pass: `unclear`,
 * since the aggregate differs from the raw table for some other reason too.
 */
export function attributeGaps(
  passes: readonly PassKeys[],
  gaps: ReadonlyMap<string, number>,
): Map<number, Attribution> {
  const out = new Map<number, Attribution>();
  if (passes.length > MAX_PASSES) {
    for (const p of passes)
      out.set(p.at, { kind: 'unclear', reason: `${passes.length} cut passes share it` });
    return out;
  }
  const keys = new Set(passes.flatMap((p) => [...p.ids.keys()]));
  const fits: number[] = [];
  for (let subset = 0; subset < 1 << passes.length; subset++) {
    const explains = [...keys].every((key) => {
      let sum = 0;
      passes.forEach((p, i) => {
        if (subset & (1 << i)) sum += p.ids.get(key) ?? 0;
      });
      return sum === (gaps.get(key) ?? 0);
    });
    if (explains) fits.push(subset);
  }
  const shortBy = [...keys].reduce((sum, key) => sum + (gaps.get(key) ?? 0), 0);
  passes.forEach((p, i) => {
    const holds = fits.map((subset) => (subset & (1 << i)) !== 0);
    if (fits.length === 0) {
      out.set(p.at, {
        kind: 'unclear',
        reason: `${shortBy} orders short over its keys, no set of cut passes adds up to that`,
      });
    } else if (holds.every(Boolean)) out.set(p.at, { kind: 'missed' });
    else if (holds.every((h) => !h)) out.set(p.at, { kind: 'had' });
    else
      out.set(p.at, { kind: 'unclear', reason: 'more than one set of cut passes adds up to what it lacks' });
  });
  return out;
}
