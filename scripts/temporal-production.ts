/**
 * Starts, stops or reports the production-shaped Temporal server (src/stack/temporal-production.ts):
 * temporal-server on PostgreSQL with several history shards, beside the stack's dev server.
 *
 * Run: npx tsx scripts/temporal-production.ts start|stop|status [options]   (--help lists them)
 */
import { parseArgs } from 'node:util';
import { resolveStackDir } from '../src/stack/paths.js';
import {
  PRODUCTION_TEMPORAL_DEFAULTS as D,
  type ProductionTemporalOptions,
  productionTemporalStatus,
  startProductionTemporal,
  stopProductionTemporal,
} from '../src/stack/temporal-production.js';

const HELP = `Usage: npx tsx scripts/temporal-production.ts <start|stop|status> [options]

A production-shaped Temporal server beside the stack's dev server: temporal-server v1.32.2 (built by
\`bash scripts/install-temporal-server.sh\`, not part of make setup) on PostgreSQL (postgres12 plugin,
databases temporal and temporal_visibility set up with temporal-sql-tool), with several history shards,
the product's fairness settings and search attributes.

  start    start PostgreSQL (unless --pg-url), set the schemas up, start the server and wait until a
           workflow carrying the product's search attributes can start; reuses what already runs
  stop     stop the server and the PostgreSQL this started
  status   say what runs

Options:
  --dir DIR          folder for config, logs and PostgreSQL data (default ${D.stackDir})
  --port N           the frontend's gRPC port, i.e. TEMPORAL_ADDRESS=127.0.0.1:N (default ${D.port}); the
                     server also takes N+1, N+2, N+6 (services), N+10 (HTTP), N+11 (metrics), N+700..N+706
  --pg-port N        port of the PostgreSQL it starts (default ${D.pgPort})
  --pg-url URL       use this PostgreSQL instead (postgres://user:password@host:port; needs CREATEDB)
  --shards N         history shards, fixed when the databases are created (default ${D.historyShards})
  --namespace NAME   the namespace to register (default ${D.namespace})
  --log-level LEVEL  debug, info, warn or error (default ${D.logLevel})
  -h, --help         this text

Then point the product at it: TEMPORAL_ADDRESS=127.0.0.1:${D.port} p8fs worker …`;

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function options(values: Record<string, string | boolean | undefined>): ProductionTemporalOptions {
  const logLevel = (values['log-level'] as string | undefined) ?? D.logLevel;
  if (!(LEVELS as readonly string[]).includes(logLevel))
    throw new Error(`--log-level must be one of ${LEVELS.join(', ')}, got "${logLevel}"`);
  return {
    stackDir: resolveStackDir((values.dir as string | undefined) ?? D.stackDir),
    port: positiveInteger('--port', values.port as string | undefined, D.port),
    pgPort: positiveInteger('--pg-port', values['pg-port'] as string | undefined, D.pgPort),
    pgUrl: values['pg-url'] as string | undefined,
    historyShards: positiveInteger('--shards', values.shards as string | undefined, D.historyShards),
    namespace: (values.namespace as string | undefined) ?? D.namespace,
    logLevel: logLevel as ProductionTemporalOptions['logLevel'],
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      'pg-port': { type: 'string' },
      'pg-url': { type: 'string' },
      shards: { type: 'string' },
      namespace: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (!command || rest.length > 0 || !['start', 'stop', 'status'].includes(command)) {
    console.error(`expected one command, start, stop or status; got "${positionals.join(' ')}"\n\n${HELP}`);
    return 2;
  }
  const o = options(values);
  const say = (line: string) => console.log(`[temporal-production] ${line}`);
  if (command === 'start') {
    const started = await startProductionTemporal(o, say);
    say(`TEMPORAL_ADDRESS=${started.address}`);
  } else if (command === 'stop') {
    const stopped = await stopProductionTemporal(o);
    say(stopped.length ? `stopped ${stopped.join(' and ')}` : 'nothing of it was running');
  } else {
    for (const line of await productionTemporalStatus(o)) say(line);
  }
  return 0;
}

try {
  process.exit(await main());
} catch (error) {
  console.error(`[temporal-production] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
