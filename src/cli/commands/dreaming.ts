/**
 * `p8fs dreaming process --mode direct|batch --tenant-id T` and `p8fs dreaming process --completion`:
 * the original P8FS's dreaming worker command line (`python -m p8fs.workers.dreaming process …`), as the
 * seeds type it. It is a spelling, not a second implementation: each
 * form runs the `p8fs dream` sub-command that does the same (start --wait, start, complete), so both
 * spellings always behave alike. Commands do not import each other; this one finds `dream` in the tree.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../../config/config.js';
import { connectTemporal } from '../../temporal/connection.js';
import {
  runAffinityTask,
  runMomentsTask,
  runUserSummaryTask,
  TENANT_TASKS,
  type TenantTask,
} from '../tenant-tasks.js';

const MODES = ['direct', 'batch', 'completion'] as const;
type Mode = (typeof MODES)[number];

interface DreamingOptions {
  task: TenantTask;
  mode: Mode;
  tenantId?: string;
  completion?: boolean;
  lookbackHours?: string;
  useLlm?: boolean;
  relink?: boolean;
}

function hours(value: string): string {
  if (!(Number(value) > 0)) throw new InvalidArgumentError('a number of hours above 0');
  return value;
}

/**
 * The `p8fs dream …` arguments that do what the original's options asked: direct mode ran the analysis
 * and returned its result (here: start and wait), batch mode submitted it and returned (start), and
 * completion settled finished batch jobs of every tenant, or of --tenant-id (complete).
 */
export function dreamArguments(options: DreamingOptions): string[] {
  const tenant = options.tenantId ? ['--tenant', options.tenantId] : [];
  if (options.completion || options.mode === 'completion') return ['complete', ...tenant];
  if (!options.tenantId)
    throw new InvalidArgumentError(
      `--mode ${options.mode} needs --tenant-id T (the tenant to analyse); --completion alone checks every tenant's batch jobs`,
    );
  const window = options.lookbackHours ? ['--window-hours', options.lookbackHours] : [];
  return [
    'start',
    ...tenant,
    '--mode',
    options.mode,
    ...window,
    ...(options.mode === 'direct' ? ['--wait'] : []),
  ];
}

function withOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--task <task>',
        'dreams: the dream analysis; moments: moments from sessions and documents; user-summary: the p8fs-user-info resource; affinity: edges between related resources',
      )
        .choices(TENANT_TASKS)
        .default('dreams'),
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'direct: analyse now and print the result; batch: submit to the OpenAI Batch API',
      )
        .choices(MODES)
        .default('direct'),
    )
    .option('--tenant-id <tenant>', 'the tenant to analyse (required for direct and batch)')
    .option('--completion', 'settle finished batch jobs (every tenant, or --tenant-id)')
    .option('--lookback-hours <hours>', 'sessions and resources of the last H hours', hours)
    .option('--use-llm', "--task affinity: the model names each candidate pair's relation (llm-assessed)")
    .option('--relink', '--task affinity: link again resources linked already (edges merge: same result)');
}

/** `--task moments` (tenantMoments over --lookback-hours, default 24), `--task user-summary` and `--task affinity` for --tenant-id. */
async function tenantTask(options: DreamingOptions): Promise<void> {
  if (!options.tenantId)
    throw new InvalidArgumentError(`--task ${options.task} needs --tenant-id T (the tenant to read)`);
  if (options.completion || options.mode !== 'direct')
    throw new InvalidArgumentError(
      `--task ${options.task} runs directly: --mode batch and --completion are for --task dreams`,
    );
  const tenantId = options.tenantId;
  const cfg = loadConfig();
  const client = await connectTemporal(cfg);
  const say = (line: string) => console.log(line);
  try {
    if (options.task === 'user-summary') await runUserSummaryTask(cfg, client, { tenantId }, say);
    else if (options.task === 'affinity')
      await runAffinityTask(
        cfg,
        client,
        {
          tenantId,
          ...(options.useLlm ? { useLlm: true } : {}),
          ...(options.relink ? { relink: true } : {}),
        },
        say,
      );
    else
      await runMomentsTask(
        cfg,
        client,
        { tenantId, ...(options.lookbackHours ? { lookbackHours: Number(options.lookbackHours) } : {}) },
        say,
      );
  } finally {
    await client.connection.close();
  }
}

async function dispatch(command: Command, options: DreamingOptions): Promise<void> {
  if ((options.useLlm || options.relink) && options.task !== 'affinity')
    throw new InvalidArgumentError('--use-llm and --relink are for --task affinity');
  if (options.task !== 'dreams') return tenantTask(options);
  let root = command;
  while (root.parent) root = root.parent;
  const dream = root.commands.find((c) => c.name() === 'dream');
  if (!dream) throw new Error('p8fs dreaming: the `dream` command is not registered (src/cli/program.ts)');
  const args = dreamArguments(options);
  console.error(`[dreaming] p8fs dream ${args.join(' ')}`);
  await dream.parseAsync(args, { from: 'user' });
}

export function registerDreamingCommand(program: Command): void {
  const dreaming = program
    .command('dreaming')
    .description(
      "The original P8FS's dreaming worker command line: `dreaming process` (the seeds' spelling of `p8fs dream start|complete`)",
    );
  const processCommand = withOptions(
    dreaming
      .command('process')
      .description(
        'Analyse a tenant (--mode direct|batch --tenant-id T) or settle batch jobs (--completion)',
      ),
  ).addHelpText(
    'after',
    [
      '',
      '  p8fs dreaming process --mode direct --tenant-id T   = p8fs dream start --tenant T --mode direct --wait',
      '  p8fs dreaming process --mode batch --tenant-id T    = p8fs dream start --tenant T --mode batch',
      '  p8fs dreaming process --completion                  = p8fs dream complete',
      "  p8fs dreaming process --task moments --tenant-id T  moments from T's chat sessions and documents of the",
      '                                                      last --lookback-hours (24) that no moment cites yet',
      "  p8fs dreaming process --task user-summary --tenant-id T  T's p8fs-user-info resource (category user_context)",
      "  p8fs dreaming process --task affinity --tenant-id T [--use-llm]  edges between T's related resources",
      '                                                      (graph_paths; p8fs related FILE --tenant T shows them)',
      'Needs a running dreaming worker: p8fs dreaming-worker (p8fs stack up starts one).',
    ].join('\n'),
  );
  processCommand.action(async (options: DreamingOptions) => dispatch(processCommand, options));
}
