/**
 * The production-shaped Temporal server's namespace (src/stack/temporal-production.ts): registered with
 * the product's search attributes the way the dev server's `--namespace` and `--search-attribute` flags
 * do, and the readiness check that the product can start its workflows there.
 */
import { Client, type Connection } from '@temporalio/client';
import { msToTs, type SearchAttributePair, SearchAttributeType } from '@temporalio/common';
import { errorText } from '../domain/errors.js';
import { SearchAttributes } from '../temporal/search-attributes.js';
import { waitFor } from './processes.js';

const RETENTION = '1 day'; // the dev server's default namespace retention

const PROBE_VALUES: Record<SearchAttributeType, unknown> = {
  [SearchAttributeType.TEXT]: 'probe',
  [SearchAttributeType.KEYWORD]: 'probe',
  [SearchAttributeType.INT]: 0,
  [SearchAttributeType.DOUBLE]: 0,
  [SearchAttributeType.BOOL]: false,
  [SearchAttributeType.DATETIME]: new Date(0),
  [SearchAttributeType.KEYWORD_LIST]: ['probe'],
};

// temporal.api.enums.v1.IndexedValueType (the operator API's numbers for the SDK's type names).
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = {
  [SearchAttributeType.TEXT]: 1,
  [SearchAttributeType.KEYWORD]: 2,
  [SearchAttributeType.INT]: 3,
  [SearchAttributeType.DOUBLE]: 4,
  [SearchAttributeType.BOOL]: 5,
  [SearchAttributeType.DATETIME]: 6,
  [SearchAttributeType.KEYWORD_LIST]: 7,
};

/**
 * Registers the namespace and the product's search attributes where missing (what start-dev's flags do).
 * A namespace just registered is unknown to the frontend's cache for up to ~10 s: the search attributes
 * are added once it is seen, retried until then.
 */
export async function registerNamespace(
  connection: Connection,
  namespace: string,
  say: (line: string) => void,
  alive: () => boolean,
): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch {
    say(`registering namespace ${namespace} (retention ${RETENTION})`);
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs(RETENTION),
    });
  }
  const added = await waitFor(
    async () => {
      try {
        const listed = await connection.operatorService.listSearchAttributes({ namespace });
        const missing: Record<string, number> = {};
        for (const key of Object.values(SearchAttributes))
          if (!(key.name in (listed.customAttributes ?? {})))
            missing[key.name] = INDEXED_VALUE_TYPE[key.type];
        if (Object.keys(missing).length > 0) {
          say(`adding search attributes ${Object.keys(missing).join(', ')}`);
          await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
        }
        return { ok: true, detail: 'registered' };
      } catch (error) {
        return { ok: false, detail: errorText(error) };
      }
    },
    60_000,
    alive,
  );
  if (!added.ok) throw new Error(`cannot register the search attributes in ${namespace}: ${added.detail}`);
}

/**
 * Ready means the product can start its workflows: one carrying every search attribute is started (and
 * terminated at once). The namespace and search attribute caches of a fresh server take up to ~10 s to
 * see a registration; until then the start fails and this reports why.
 */
export async function probeStart(
  connection: Connection,
  namespace: string,
): Promise<{ ok: boolean; detail: string }> {
  const client = new Client({ connection, namespace });
  const typedSearchAttributes = Object.values(SearchAttributes).map(
    (key) => ({ key, value: PROBE_VALUES[key.type] }) as SearchAttributePair,
  );
  try {
    const handle = await client.workflow.start('p8fsReadinessProbe', {
      taskQueue: 'p8fs-readiness-probe',
      workflowId: `p8fs-readiness-probe-${Date.now()}`,
      typedSearchAttributes,
    });
    await handle.terminate('readiness probe');
    return { ok: true, detail: 'a workflow with every search attribute started' };
  } catch (error) {
    return { ok: false, detail: errorText(error) };
  }
}
