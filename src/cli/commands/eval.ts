/**
 * `p8fs eval --agent-model MomentBuilder --file transcript.json [--provider P] [--model M] --format yaml`:
 * runs an agent model over a file in this process, with the same domain and LLM code the workers run
 * (grouping, prompt, validation, border merge), and prints what it found. No Temporal, no database: a
 * quick way to see what a model (or the heuristic) makes of a transcript before uploading it.
 */
import { readFile } from 'node:fs/promises';
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
}

/** Agent models `eval` can run, by the names the seeds use. */
const AGENT_MODELS: Record<string, (cfg: Config, options: EvalOptions) => Promise<unknown>> = {
  MomentBuilder: evalMomentBuilder,
};

function usageError(message: string): Error {
  return new Error(`eval: ${message}`);
}

/** The configured LLM settings with --provider and --model on top, checked like the environment is. */
function llmConfig(cfg: Config, options: EvalOptions): Config {
  const provider = (options.provider ?? cfg.llm.provider) as ProviderChoice;
  if (!PROVIDERS.includes(provider))
    throw usageError(
      `unknown --provider ${JSON.stringify(options.provider)}; known: ${PROVIDERS.join(', ')}`,
    );
  if (provider === 'openai' && !cfg.llm.openaiApiKey)
    throw usageError(
      '--provider openai needs OPENAI_API_KEY (any non-empty value for a local OpenAI-compatible server)',
    );
  if (provider === 'anthropic' && !cfg.llm.anthropicApiKey)
    throw usageError('--provider anthropic needs ANTHROPIC_API_KEY');
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
    `[eval] ${result.moments.length} moment(s) from ${result.groups} group(s)${result.merged > 0 ? `, ${result.merged} merged across group borders` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s${result.provider === 'heuristic' ? ' (heuristic: rule-based, no language model)' : ''}`,
  );
  return {
    agent_model: 'MomentBuilder',
    file: options.file,
    provider: result.provider,
    model: result.model,
    transcript_ref: result.transcriptRef,
    groups: result.groups,
    moments: result.moments,
  };
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'Run an agent model (MomentBuilder) over a file here, without Temporal, and print its output',
    )
    .requiredOption('--agent-model <name>', `agent model: ${Object.keys(AGENT_MODELS).join(', ')}`)
    .requiredOption('--file <file>', 'input file (MomentBuilder: a transcript JSON in the samples format)')
    .option(
      '--provider <provider>',
      `LLM backend: ${PROVIDERS.join(' | ')} (default: P8FS_LLM_PROVIDER or by API key)`,
    )
    .option('--model <model>', 'model name (default: P8FS_LLM_MODEL or the provider default)')
    .option('--format <format>', 'output: yaml | json', 'yaml')
    .action(async (options: EvalOptions) => {
      const run = AGENT_MODELS[options.agentModel];
      if (!run || !Object.hasOwn(AGENT_MODELS, options.agentModel))
        throw usageError(
          `unknown --agent-model ${JSON.stringify(options.agentModel)}; known: ${Object.keys(AGENT_MODELS).join(', ')}`,
        );
      if (!(FORMATS as readonly string[]).includes(options.format))
        throw usageError(`unknown --format ${JSON.stringify(options.format)}; known: ${FORMATS.join(', ')}`);
      const output = await run(loadConfig(), options);
      process.stdout.write(
        options.format === 'json' ? `${JSON.stringify(output, null, 2)}\n` : stringify(output),
      );
    });
}
