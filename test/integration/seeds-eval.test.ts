/**
 * The seeds' eval lines, run as written: seed 001's `uv run python -m p8fs.cli eval --agent-model
 * agentlets.moments.MomentBuilder --file … --model claude-sonnet-4-5 --format yaml` is taken from the seed's
 * text, its Python entry point mapped to `node bin/p8fs.js` and its sample path to ../shared/samples/moments
 * (the only two changes), and run as a real process of the built CLI against a loopback stand-in for
 * Anthropic's Messages API (the only outside service; it answers with the moment a person wrote for the
 * transcript). The output must be the seeds' MomentBuilder YAML, and the seed's own checks
 * (`grep "moment_type:"`, `grep "emotion_tags:"`) must find their lines.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../../src/config/project-root.js';
import { type LoopbackAnthropic, startLoopbackAnthropic } from '../support/loopback-anthropic.js';
import { expectedAsAnswer, MOMENTS_DIR, momentSamples } from '../support/moments.js';
import { seed001 } from '../support/seed-sql.js';

/** Every `… p8fs.cli eval …` command of seed 001, its continuation lines joined, as words. */
function seedEvalLines(): string[][] {
  const joined = seed001().replace(/\\\n\s*/g, ' ');
  return [...joined.matchAll(/^uv run python -m p8fs\.cli eval [^\n]*$/gm)].map((m) =>
    m[0]
      .replace(/\s*>\s*\S+\s*$/, '') // the second line sends its output to /tmp/moments.yaml: captured here
      .split(/\s+/)
      .filter(Boolean),
  );
}

/** The seed's words as our command: the entry point and the sample folder mapped, nothing else. */
function asOurs(words: string[]): string[] {
  const at = words.indexOf('eval');
  return words
    .slice(at)
    .map((w) => w.replace(/^tests\/sample_data\/moment_samples\/tenant_1\//, `${MOMENTS_DIR}/`));
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot(), 'bin', 'p8fs.js'), ...args], {
      cwd: projectRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

let anthropic: LoopbackAnthropic;
const samples = momentSamples();

beforeAll(async () => {
  anthropic = await startLoopbackAnthropic((body) => {
    const prompt = JSON.stringify(body.messages);
    const sample = samples.find((s) => prompt.includes(s.input.transcript_id));
    if (!sample) throw new Error('the loopback model was asked about no sample transcript');
    return expectedAsAnswer(sample);
  });
});

afterAll(async () => {
  await anthropic?.close();
});

describe("seed 001's eval lines, as written (loopback Anthropic)", () => {
  const lines = seedEvalLines();

  it('the seed has its two eval lines, both for the MomentBuilder on a Claude model', () => {
    expect(lines).toHaveLength(2);
    for (const words of lines) {
      expect(words).toEqual(expect.arrayContaining(['--agent-model', 'agentlets.moments.MomentBuilder']));
      expect(words[words.indexOf('--model') + 1]).toMatch(/^claude-/);
    }
  });

  it.each(lines.map((words, i) => [i + 1, words] as const))(
    'line %i prints the seeds’ MomentBuilder YAML, and the seed’s greps find moment_type and emotion_tags',
    async (_, words) => {
      const before = anthropic.requests.length;
      const env = {
        ...process.env,
        ANTHROPIC_API_KEY: 'sk-ant-loopback',
        ANTHROPIC_BASE_URL: anthropic.url,
        P8FS_LLM_PROVIDER: '',
        OPENAI_API_KEY: '',
      };
      const result = await runCli(asOurs(words), env);
      expect(result.code, result.stderr).toBe(0);
      const output = parse(result.stdout) as Record<string, unknown>;
      expect(Object.keys(output).slice(0, 3)).toEqual(['moments', 'analysis_summary', 'total_moments']);
      expect(output.total_moments).toBe(1);
      const moment = (output.moments as Record<string, unknown>[])[0] as Record<string, unknown>;
      const expected = samples.find((s) => s.name === 'transcript_2025-01-13T09-00-00Z')?.expected;
      expect(moment.name).toBe(expected?.name);
      expect(moment.metadata).toMatchObject({
        transcript_id: expect.any(String),
        duration_seconds: expect.any(Number),
      });
      // The seed's own checks of /tmp/moments.yaml.
      expect(result.stdout.split('\n').filter((l) => l.includes('moment_type:'))).not.toHaveLength(0);
      expect(result.stdout.split('\n').filter((l) => l.includes('emotion_tags:'))).not.toHaveLength(0);
      // The model the seed names, asked once, with the key the seed exports.
      const asked = anthropic.requests.slice(before);
      expect(asked.map((r) => r.body.model)).toEqual([words[words.indexOf('--model') + 1]]);
      expect(asked[0]?.apiKey).toBe('sk-ant-loopback');
    },
    120_000,
  );
});
