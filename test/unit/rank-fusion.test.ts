/** Reciprocal-rank fusion (src/domain/rank-fusion.ts): the formula, its tie rules and its input checks. */
import { describe, expect, it } from 'vitest';
import { RRF_K, reciprocalRankFusion } from '../../src/domain/rank-fusion.js';

describe('reciprocalRankFusion', () => {
  it('scores Σ 1 / (k + rank) over the lists holding an item, k = 60, best first', () => {
    const fused = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['c', 'd', 'a'],
    ]);
    expect(RRF_K).toBe(60);
    expect(fused.map((f) => f.id)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0]).toEqual({ id: 'a', score: 1 / 61 + 1 / 63, ranks: [1, 3] });
    expect(fused[1]).toEqual({ id: 'c', score: 1 / 63 + 1 / 61, ranks: [3, 1] });
    expect(fused[2]).toEqual({ id: 'b', score: 1 / 62, ranks: [2, undefined] });
    expect(fused[3]).toEqual({ id: 'd', score: 1 / 62, ranks: [undefined, 2] });
  });

  it('an item ranked well in both lists beats one ranked first in a single list', () => {
    const fused = reciprocalRankFusion([
      ['alone', 'both'],
      ['x', 'both'],
    ]);
    expect(fused[0]?.id).toBe('both');
  });

  it('ties go to the better best rank, then to the earlier list, so the order never depends on chance', () => {
    // a and c both score 1/61 + 1/63 (ranks 1 and 3); b and d both 1/62: a (first list's rank 1) precedes c.
    const twice = [
      reciprocalRankFusion([
        ['a', 'b', 'c'],
        ['c', 'd', 'a'],
      ]),
      reciprocalRankFusion([
        ['a', 'b', 'c'],
        ['c', 'd', 'a'],
      ]),
    ];
    expect(twice[0]).toEqual(twice[1]);
    const single = reciprocalRankFusion([
      ['p', 'q'],
      ['q', 'p'],
    ]);
    expect(single.map((f) => f.id)).toEqual(['p', 'q']);
    expect(single[0]?.score).toBe(single[1]?.score);
  });

  it('counts an id repeated within one list at its first place only; empty lists fuse to nothing', () => {
    expect(reciprocalRankFusion([['a', 'a', 'b']])).toEqual([
      { id: 'a', score: 1 / 61, ranks: [1] },
      { id: 'b', score: 1 / 63, ranks: [3] },
    ]);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
    expect(reciprocalRankFusion([])).toEqual([]);
  });

  it('takes another k, and refuses a negative or non-finite one', () => {
    expect(reciprocalRankFusion([['a']], 0)[0]?.score).toBe(1);
    expect(() => reciprocalRankFusion([['a']], -1)).toThrow(/k must be a number of 0 or more/);
    expect(() => reciprocalRankFusion([['a']], Number.NaN)).toThrow(/k must be/);
  });
});
