/** Resource affinity's pure parts (src/domain/insight/affinity.ts): segments, weights, the merge, the stand-in. */
import { describe, expect, it } from 'vitest';
import {
  affinitySegments,
  type GraphEdge,
  heuristicRelation,
  mergeEdges,
  readEdges,
  similarityWeight,
  validateRelation,
} from '../../src/domain/insight/affinity.js';

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const edge = (dst: string, weight: number, created_at = '2025-01-01T00:00:00.000Z'): GraphEdge => ({
  dst,
  rel_type: 'semantic_similar',
  weight,
  properties: { match_type: 'semantic-basic', similarity: weight },
  created_at,
});

describe('affinitySegments', () => {
  it('draws up to three runs of 20 consecutive words, the same for the same seed', () => {
    const text = words(500);
    const a = affinitySegments('id-1', text);
    expect(a).toEqual(affinitySegments('id-1', text));
    expect(a.length).toBeGreaterThanOrEqual(2);
    expect(a.length).toBeLessThanOrEqual(3);
    for (const s of a) {
      expect(s.split(' ')).toHaveLength(20);
      expect(text).toContain(s);
    }
    expect(affinitySegments('id-2', text)).not.toEqual(a);
  });

  it('keeps a short text whole and an empty one out', () => {
    expect(affinitySegments('x', '  one  two\nthree ')).toEqual(['one two three']);
    expect(affinitySegments('x', words(20))).toEqual([words(20)]);
    expect(affinitySegments('x', ' \n ')).toEqual([]);
  });
});

describe('edges', () => {
  it('clamps a similarity to the weight range [0.3, 1]', () => {
    expect(similarityWeight(0.1)).toBe(0.3);
    expect(similarityWeight(0.61234)).toBe(0.6123);
    expect(similarityWeight(1.2)).toBe(1);
  });

  it('merges by (dst, rel_type), keeping the higher weight and the held edge on a tie', () => {
    const held = [edge('a', 0.5), edge('b', 0.7)];
    const later = '2026-01-01T00:00:00.000Z';
    const { edges, added } = mergeEdges(held, [
      edge('a', 0.5, later),
      edge('b', 0.9, later),
      edge('c', 0.4, later),
    ]);
    expect(added).toBe(1);
    expect(edges).toEqual([edge('a', 0.5), edge('b', 0.9, later), edge('c', 0.4, later)]);
    expect(mergeEdges(edges, edges)).toEqual({ edges, added: 0 });
    const other = { ...edge('a', 0.2), rel_type: 'complementary' };
    expect(mergeEdges(held, [other]).edges).toHaveLength(3);
  });

  it('reads stored graph_paths, leaving out what is not an edge', () => {
    expect(readEdges(null)).toEqual([]);
    expect(readEdges(['old-style/path', edge('a', 0.5), { dst: 'b' }])).toEqual([edge('a', 0.5)]);
  });
});

describe('LLM mode', () => {
  const pair = {
    source: {
      name: 'garden.md',
      category: 'notes',
      content: 'Tomato plants need staking and watering; tomato blight.',
    },
    target: {
      name: 'patch.md',
      category: 'notes',
      content: 'Staking tomato plants, watering daily, blight on leaves.',
    },
    similarity: 0.62,
  };

  it('the stand-in says it is one, shares the common words, and reads strength off the similarity', () => {
    const a = heuristicRelation(pair);
    expect(validateRelation(a)).toEqual(a);
    expect(a).toMatchObject({ relationship_type: 'similar_topic', strength: 'moderate' });
    expect(a.connecting_entities).toEqual(expect.arrayContaining(['tomato']));
    expect(a.explanation).toMatch(/^\[heuristic\]/);
    expect(heuristicRelation({ ...pair, similarity: 0.8 }).strength).toBe('strong');
  });

  it('refuses an answer outside the schema, naming the field', () => {
    expect(() => validateRelation({ ...heuristicRelation(pair), strength: 'huge' })).toThrow(/^strength:/);
    expect(() => validateRelation({ ...heuristicRelation(pair), relationship_type: 'x' })).toThrow(
      /^relationship_type:/,
    );
    expect(() => validateRelation({ ...heuristicRelation(pair), edge_labels: [1] })).toThrow(/^edge_labels:/);
  });
});
