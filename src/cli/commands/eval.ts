/**
 * `p8fs eval --agent-model MomentBuilder --file transcript.json [--provider P] [--model M] --format yaml`:
 * runs an agent model over a file in this process, with the same domain and LLM code the workers run
 * (grouping, prompt, validation, border merge), and prints what it found. No Temporal, no database: a
 * quick way to see what a model (or the heuristic) makes of a transcript before uploading it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { createLlmProvider, describeLlm } from '../../activities/insight/llm/index.js';
import { buildMomentsDirect } from '../../activities/insight/moment-builder.js';
import { type Config, loadConfig } from '../../config/config.js';
import { errorText } from '../../domain/errors.js';
import { parseTranscriptJson } from '../../domain/insight/transcript.js';

const PROVIDERS = ['openai', 'anthropic', 'heuristic', 'local'] as const;
type ProviderChoice = (typeof PROVIDERS)[number];
const FORMATS = ['yaml', 'json'] as const;

interface EvalOptions {
  agentModel: string;
  file: string;
  provider?: string;
  model?: string;
  format: string;
  output?: string;
}

/** Agent models `eval` can run, by their class names in the original P8FS. */
const AGENT_MODELS: Record<string, (cfg: Config, options: EvalOptions) => Promise<unknown>> = {
  MomentBuilder: evalMomentBuilder,
};

/**
 * The original P8FS's modules of its agent models (Healer-AI/p8fs, p8fs/src/p8fs/models/agentlets/):
 * its eval takes `MomentBuilder`, `agentlets.moments.MomentBuilder` (the seeds' spelling),
 * `models.agentlets.moments.MomentBuilder` or the full `p8fs.models.agentlets.moments.MomentBuilder`.
 */
const ORIGINAL_MODULES: Record<string, string> = {
  MomentBuilder: 'agentlets.moments',
  DreamModel: 'agentlets.dreaming',
};

/** Agent models of the original that run here as workflows over a tenant's rows, not over one file. */
const RUN_ELSEWHERE: Record<string, string> = {
  DreamModel:
    "DreamModel analyses a tenant's sessions and resources, not one file: p8fs dream start --tenant T --wait (the seeds' p8fs dreaming process --mode direct --tenant-id T)",
};

function usageError(message: string): Error {
  return new Error(`eval: ${message}`);
}

/** `agentlets.moments.MomentBuilder` and the original's other spellings → `MomentBuilder`. */
export function agentModelName(spelling: string): string {
  const dot = spelling.lastIndexOf('.');
  const name = spelling.slice(dot + 1);
  const module = dot < 0 ? undefined : spelling.slice(0, dot).replace(/^(p8fs\.)?models\./, '');
  const known = Object.hasOwn(ORIGINAL_MODULES, name) ? ORIGINAL_MODULES[name] : undefined;
  if (module !== undefined && module !== known)
    throw usageError(
      `unknown --agent-model ${JSON.stringify(spelling)}; known: ${Object.keys(AGENT_MODELS).join(', ')} (or as the original P8FS names them, e.g. agentlets.moments.MomentBuilder)`,
    );
  const elsewhere = Object.hasOwn(RUN_ELSEWHERE, name) ? RUN_ELSEWHERE[name] : undefined;
  if (elsewhere) throw usageError(elsewhere);
  if (!Object.hasOwn(AGENT_MODELS, name))
    throw usageError(
      `unknown --agent-model ${JSON.stringify(spelling)}; known: ${Object.keys(AGENT_MODELS).join(', ')}`,
    );
  return name;
}

/**
 * The provider a --model name belongs to, so `--model claude-sonnet-4-5` (the seeds' line) goes to
 * Anthropic even when an OpenAI key is set too; undefined for names that do not say (local servers).
 */
export function providerOfModel(model: string): ProviderChoice | undefined {
  const name = (model.split('/').pop() ?? model).toLowerCase();
  if (name.startsWith('claude-')) return 'anthropic';
  if (/^(gpt-|o[1-9](-|$)|chatgpt-)/.test(name)) return 'openai';
  return undefined;
}

/** The configured LLM settings with --provider and --model on top, checked like the environment is. */
function llmConfig(cfg: Config, options: EvalOptions): Config {
  const byModel = options.model ? providerOfModel(options.model) : undefined;
  const provider = (options.provider ?? byModel ?? cfg.llm.provider) as ProviderChoice;
  if (!PROVIDERS.includes(provider))
    throw usageError(
      `unknown --provider ${JSON.stringify(options.provider)}; known: ${PROVIDERS.join(', ')}`,
    );
  if (provider === 'openai' && !cfg.llm.openaiApiKey)
    throw usageError(
      '--provider openai needs OPENAI_API_KEY (any non-empty value for a local OpenAI-compatible server)',
    );
  if (provider === 'anthropic' && !cfg.llm.anthropicApiKey)
    throw usageError(
      options.provider
        ? '--provider anthropic needs ANTHROPIC_API_KEY'
        : `--model ${options.model} is an Anthropic model: set ANTHROPIC_API_KEY (or pick another --model, or --provider heuristic)`,
    );
  return { ...cfg, llm: { ...cfg.llm, provider, ...(options.model ? { model: options.model } : {}) } };
}

async function evalMomentBuilder(cfg: Config, options: EvalOptions): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read --file ${options.file}: ${errorText(error)}`);
  }
  const transcript = parseTranscriptJson(text, options.file);
  const settings = llmConfig(cfg, options);
  const llm = createLlmProvider(settings);
  console.error(
    `[eval] MomentBuilder over ${options.file}: ${transcript.segments.length} segments, ${transcript.speakers.length} speakers; model ${describeLlm(settings, llm)}`,
  );
  const started = Date.now();
  const result = await buildMomentsDirect(settings, llm, transcript, text, {
    onGroup: (index, count) => {
      if (count > 1) console.error(`[eval] group ${index + 1}/${count} …`);
    },
  });
  console.error(
    `[eval] ${result.output.total_moments} moment(s) from ${result.groups} group(s)${result.merged > 0 ? `, ${result.merged} merged across group borders` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s${result.provider === 'heuristic' ? ' (heuristic: rule-based, no language model)' : ''}`,
  );
  // The original's output first ({moments, analysis_summary, total_moments}), then where it came from.
  return {
    ...result.output,
    agent_model: 'MomentBuilder',
    file: options.file,
    provider: result.provider,
    model: result.model,
    transcript_ref: result.transcriptRef,
    groups: result.groups,
  };
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'Run an agent model (MomentBuilder) over a file here, without Temporal, and print its output',
    )
    .requiredOption(
      '--agent-model <name>',
      `agent model: ${Object.keys(AGENT_MODELS).join(', ')} (the original's agentlets.moments.MomentBuilder too)`,
    )
    .requiredOption('--file <file>', 'input file (MomentBuilder: a transcript JSON in the samples format)')
    .option(
      '--provider <provider>',
      `LLM backend: ${PROVIDERS.join(' | ')} (default: P8FS_LLM_PROVIDER or by API key)`,
    )
    .option(
      '--model <model>',
      'model name (default: P8FS_LLM_MODEL or the provider default); claude-* picks anthropic and gpt-*, o1…o9 openai unless --provider says otherwise',
    )
    .option('--format <format>', 'output: yaml | json', 'yaml')
    .option('-o, --output <file>', 'write the output to FILE instead of stdout')
    .action(async (options: EvalOptions) => {
      const name = agentModelName(options.agentModel);
      const run = AGENT_MODELS[name] as (typeof AGENT_MODELS)[string];
      if (!(FORMATS as readonly string[]).includes(options.format))
        throw usageError(`unknown --format ${JSON.stringify(options.format)}; known: ${FORMATS.join(', ')}`);
      const output = await run(loadConfig(), options);
      // YAML laid out as the seeds show it: list items at their key's indentation (`moments:\n- name: …`),
      // and strings quoted where YAML 1.1 (PyYAML, the original's tooling) would read another type, so
      // times stay strings as in the seeds' '2025-01-13T09:00:00Z'.
      const text =
        options.format === 'json'
          ? `${JSON.stringify(output, null, 2)}\n`
          : stringify(output, { indentSeq: false, lineWidth: 0, version: '1.1' });
      if (options.output === undefined) process.stdout.write(text);
      else {
        await writeFile(options.output, text).catch((error: unknown) => {
          throw new Error(`eval: cannot write --output ${options.output}: ${errorText(error)}`, {
            cause: error,
          });
        });
        console.error(`[eval] wrote ${options.output}`);
      }
    });
}
