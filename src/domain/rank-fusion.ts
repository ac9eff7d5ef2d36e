/**
 * Reciprocal-rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009), how hybrid search merges the
 * full-text ranking with the vector ranking (docs/SEARCH.md):
 *
 *   score(d) = Σ over the lists that hold d of 1 / (k + rank(d)),   rank 1-based, k = 60
 *
 * Only ranks count, never the lists' own scores: ts_rank_cd and cosine similarity are on scales that
 * cannot be added, and ranks need no tuning per corpus. k = 60 (the paper's value) damps the head of
 * each list, so a document ranked well in both lists beats one ranked first in a single list.
 */

/** The paper's constant: large enough that rank 1 and rank 2 of one list differ by little. */
export const RRF_K = 60;

export interface FusedItem {
  id: string;
  /** Σ 1 / (k + rank) over the lists holding the item. */
  score: number;
  /** The item's 1-based rank in each input list, undefined where a list does not hold it. */
  ranks: (number | undefined)[];
}

/**
 * Fuses ranked lists of ids (best first; an id repeated in one list counts at its first place) into one
 * list, best first. Ties (same score) go to the item with the better best rank, then to the earlier list's
 * order, so the result is deterministic.
 */
export function reciprocalRankFusion(lists: readonly (readonly string[])[], k: number = RRF_K): FusedItem[] {
  if (!Number.isFinite(k) || k < 0) throw new RangeError(`RRF k must be a number of 0 or more, got ${k}`);
  const items = new Map<string, FusedItem>();
  lists.forEach((list, listIndex) => {
    list.forEach((id, position) => {
      let item = items.get(id);
      if (!item) {
        item = { id, score: 0, ranks: lists.map(() => undefined) };
        items.set(id, item);
      }
      if (item.ranks[listIndex] !== undefined) return;
      item.ranks[listIndex] = position + 1;
      item.score += 1 / (k + position + 1);
    });
  });
  const best = (item: FusedItem): number => Math.min(...item.ranks.map((r) => r ?? Number.POSITIVE_INFINITY));
  const firstSeen = (item: FusedItem): [number, number] => {
    const listIndex = item.ranks.findIndex((r) => r !== undefined);
    return [listIndex, item.ranks[listIndex] ?? 0];
  };
  return [...items.values()].sort((a, b) => {
    if (b.score !== a.score) return b.score - a.score;
    if (best(a) !== best(b)) return best(a) - best(b);
    const [la, ra] = firstSeen(a);
    const [lb, rb] = firstSeen(b);
    return la - lb || ra - rb;
  });
}
