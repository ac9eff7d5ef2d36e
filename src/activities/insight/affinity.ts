/**
 * Resource affinity activities (task queue p8fs-llm): which resources a run links (planAffinity), and
 * linking a page of them (linkAffinityPage): each resource's three seeded 20-word segments are embedded
 * with the configured embedding provider, its nearest resources of the same tenant among that provider's
 * vectors are found (pgvector), those at or above the threshold become edges (basic), or each such
 * candidate pair is put to the model (or its rule-based stand-in) which names the relation (LLM mode).
 * Edges are merged into resources.graph_paths by (dst, rel_type) keeping the higher weight, so a re-run
 * leaves the same edges. Idempotent: a retried page merges the same edges again.
 */
import { Context } from '@temporalio/activity';
import {
  affinitySourceRows,
  affinitySources,
  type Neighbour,
  nearestResources,
  updateEdges,
} from '../../db/affinity.js';
import {
  AFFINITY_MAX_EDGES,
  type AffinityInput,
  type AffinityPlan,
  affinitySegments,
  type GraphEdge,
  heuristicRelation,
  type LinkPageInput,
  type LinkPageOutcome,
  mergeEdges,
  RELATION_SCHEMA,
  type RelationPair,
  relationMessages,
  round,
  SEMANTIC_SIMILAR,
  STRENGTH_WEIGHT,
  similarityWeight,
  validateRelation,
} from '../../domain/insight/affinity.js';
import { embeddingProviderFromConfig } from '../../providers/embeddings/index.js';
import type { InsightDeps } from './deps.js';

/** Vectors looked at per segment before grouping by file: enough for 5 other files past a file's own chunks. */
const SEARCH_DEPTH = 60;

export function createAffinityActivities({ cfg, pool, llm }: InsightDeps) {
  return {
    async planAffinity(input: AffinityInput): Promise<AffinityPlan> {
      const provider = embeddingProviderFromConfig(cfg).name;
      const limit = input.maxResources ?? cfg.affinity.resourcesPerRun;
      const { ids, remaining } = await affinitySources(pool, {
        tenantId: input.tenantId,
        provider,
        limit,
        relink: input.relink === true,
      });
      return {
        resourceIds: ids,
        remaining,
        provider,
        threshold: input.threshold ?? cfg.affinity.threshold,
        maxModelCalls: input.maxModelCalls ?? cfg.affinity.maxModelCalls,
      };
    },

    async linkAffinityPage(input: LinkPageInput): Promise<LinkPageOutcome> {
      const context = Context.current();
      const embedder = embeddingProviderFromConfig(cfg);
      if (embedder.name !== input.provider)
        throw new Error(
          `linkAffinityPage: the plan compared vectors of ${input.provider}, this worker embeds with ${embedder.name}; run the task again`,
        );
      const rows = await affinitySourceRows(pool, input.tenantId, input.provider, input.resourceIds);
      const outcome: LinkPageOutcome = {
        linked: 0,
        edgesAdded: 0,
        edgesHeld: 0,
        modelCalls: 0,
        deferred: 0,
        skipped: input.resourceIds.length - rows.length,
        generatedBy: 'none',
      };
      for (const [index, row] of rows.entries()) {
        context.heartbeat({ resource: row.id, index });
        const segments = affinitySegments(row.id, row.content);
        if (row.vector_at === null || segments.length === 0) {
          outcome.skipped++;
          continue;
        }
        const vectors = await embedder.embed(segments, context.cancellationSignal);
        // Each neighbour file at its best similarity over the segments.
        const best = new Map<string, Neighbour>();
        for (const vector of vectors) {
          const near = await nearestResources(pool, {
            tenantId: input.tenantId,
            provider: input.provider,
            vector,
            source: row,
            depth: SEARCH_DEPTH,
            limit: AFFINITY_MAX_EDGES,
          });
          for (const n of near) {
            const held = best.get(n.id);
            if (!held || n.similarity > held.similarity) best.set(n.id, n);
          }
        }
        const byFile = new Map<string, Neighbour>();
        for (const n of best.values()) {
          const key = n.file_id ?? n.id;
          const held = byFile.get(key);
          if (!held || n.similarity > held.similarity) byFile.set(key, n);
        }
        const candidates = [...byFile.values()]
          .filter((n) => n.similarity >= input.threshold)
          .sort((a, b) => b.similarity - a.similarity || a.id.localeCompare(b.id))
          .slice(0, AFFINITY_MAX_EDGES);
        if (input.mode === 'llm' && outcome.modelCalls + candidates.length > input.maxModelCalls) {
          outcome.deferred = rows.length - index;
          break;
        }
        const now = new Date().toISOString();
        const fresh: GraphEdge[] = [];
        for (const n of candidates) {
          const dst = {
            dst_name: n.name,
            dst_file_id: n.file_id,
            dst_category: n.category,
          };
          if (input.mode === 'basic') {
            fresh.push({
              dst: n.id,
              rel_type: SEMANTIC_SIMILAR,
              weight: similarityWeight(n.similarity),
              properties: { match_type: 'semantic-basic', similarity: round(n.similarity), ...dst },
              created_at: now,
            });
            continue;
          }
          const pair: RelationPair = {
            source: { name: row.name, category: row.category ?? '', content: row.content },
            target: { name: n.name, category: n.category ?? '', content: n.content },
            similarity: n.similarity,
          };
          const answer = await llm.generate({
            task: 'resource_affinity',
            messages: relationMessages(pair),
            schema: RELATION_SCHEMA,
            validate: validateRelation,
            heuristic: () => heuristicRelation(pair),
            maxOutputTokens: 400,
            signal: context.cancellationSignal,
            onProgress: (details) => context.heartbeat(details),
          });
          outcome.modelCalls++;
          outcome.generatedBy = answer.provider === 'heuristic' ? 'heuristic' : 'model';
          const a = answer.value;
          if (a.relationship_type === 'unrelated') continue;
          fresh.push({
            dst: n.id,
            rel_type: a.relationship_type,
            weight: STRENGTH_WEIGHT[a.strength],
            properties: {
              match_type: 'llm-assessed',
              similarity: round(n.similarity),
              strength: a.strength,
              connecting_entities: a.connecting_entities,
              edge_labels: a.edge_labels,
              reasoning: a.explanation.slice(0, 200),
              generated_by: outcome.generatedBy,
              provider: answer.provider,
              model: answer.model,
              ...dst,
            },
            created_at: now,
          });
        }
        const written = await updateEdges(
          pool,
          { tenantId: input.tenantId, id: row.id, vectorAt: row.vector_at },
          (held) => mergeEdges(held, fresh),
        );
        if (!written) {
          outcome.skipped++;
          continue;
        }
        outcome.linked++;
        outcome.edgesAdded += written.added;
        outcome.edgesHeld += written.held;
      }
      return outcome;
    },
  };
}

export type AffinityActivities = ReturnType<typeof createAffinityActivities>;
