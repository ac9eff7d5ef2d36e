/**
 * Writes docs/CLI.md from the `p8fs` command tree itself (`buildProgram()`), so the reference cannot
 * drift from the code: every command and sub-command in registration order, with its aliases, usage,
 * arguments, options (flags, default, choices, description) and the text it adds after its help.
 * `make docs` runs it; test/unit/cli-doc.test.ts fails when docs/CLI.md differs from its output.
 *
 *   npx tsx scripts/gen-cli-doc.ts           write docs/CLI.md
 *   npx tsx scripts/gen-cli-doc.ts --check   exit 1 when docs/CLI.md is stale
 */
import type { EventEmitter } from 'node:events';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argument, Command, Option } from 'commander';
import { buildProgram } from '../src/cli/program.js';

export const CLI_DOC_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'CLI.md');

/** A table cell: pipes escaped, line breaks as spaces. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** Inline code that survives backticks inside it. */
function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** A default as it would be typed: a list space-separated, an empty string as `""`. */
function value(v: unknown): string {
  if (Array.isArray(v)) return v.map(value).join(' ');
  if (v === '') return '""';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** What `addHelpText(position, …)` printed for this command alone (commander keeps them as listeners). */
function helpText(command: Command, position: 'before' | 'after'): string {
  const written: string[] = [];
  const context = { error: false, command, write: (s: string) => written.push(s) };
  // A Command is an EventEmitter at run time (commander's typings leave that out).
  const emitter = command as unknown as EventEmitter;
  for (const listener of emitter.listeners(`${position}Help`)) listener(context);
  return written
    .join('')
    .replace(/^\s*\n/, '')
    .replace(/\s+$/, '');
}

/** The full command path as typed: `p8fs dlq replay`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function argumentRow(arg: Argument): string {
  const name = arg.variadic ? `${arg.name()}...` : arg.name();
  const shown = arg.required ? `<${name}>` : `[${name}]`;
  const details = [arg.description];
  if (arg.defaultValue !== undefined) details.push(`default: ${code(value(arg.defaultValue))}`);
  if (arg.argChoices) details.push(`choices: ${arg.argChoices.map(code).join(', ')}`);
  return `| ${code(shown)} | ${cell(details.filter(Boolean).join('; '))} |`;
}

function optionRow(option: Option): string {
  const details = [option.description];
  if (option.mandatory) details.push('required');
  if (option.defaultValue !== undefined && !option.negate) {
    const shown = option.defaultValueDescription ?? value(option.defaultValue);
    details.push(`default: ${code(shown)}`);
  }
  if (option.argChoices) details.push(`choices: ${option.argChoices.map(code).join(', ')}`);
  if (option.envVar) details.push(`environment: ${code(option.envVar)}`);
  return `| ${code(option.flags)} | ${cell(details.filter(Boolean).join('; '))} |`;
}

function section(command: Command, depth: number): string[] {
  const path = commandPath(command);
  const lines = [`${'#'.repeat(Math.min(depth, 4))} \`${path}\``, ''];
  if (command.description()) lines.push(command.description(), '');
  lines.push('```text', `${path} ${command.usage()}`.trimEnd(), '```', '');
  if (command.aliases().length > 0) {
    const parent = commandPath(command.parent as Command);
    const aliases = command.aliases().map((a) => code(`${parent} ${a}`));
    lines.push(`${aliases.length > 1 ? 'Aliases' : 'Alias'}: ${aliases.join(', ')}.`, '');
  }
  const before = helpText(command, 'before');
  if (before) lines.push('```text', before, '```', '');
  const args = command.registeredArguments;
  if (args.length > 0) lines.push('| argument | meaning |', '| --- | --- |', ...args.map(argumentRow), '');
  const options = command.options.filter((o) => !o.hidden);
  if (options.length > 0) lines.push('| option | meaning |', '| --- | --- |', ...options.map(optionRow), '');
  const subs = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  if (subs.length > 0) {
    lines.push(`Sub-commands: ${subs.map((c) => code(c.name())).join(', ')}.`, '');
  }
  const after = helpText(command, 'after');
  if (after) lines.push('```text', after, '```', '');
  for (const sub of subs) lines.push(...section(sub, depth + 1));
  return lines;
}

/** docs/CLI.md as the command tree describes it today. */
export function renderCliDoc(program: Command = buildProgram()): string {
  const top = program.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  const lines = [
    '# The `p8fs` command',
    '',
    '<!-- Generated by scripts/gen-cli-doc.ts from the command tree (src/cli/program.ts): do not edit;',
    '     run `make docs`. test/unit/cli-doc.test.ts fails when this file is stale. -->',
    '',
    `${program.description()}.`,
    '',
    'After `make build`, run it as `node bin/p8fs.js …` (or `npx p8fs …`). Every command also takes',
    '`-h, --help`. Settings come from the environment: [CONFIGURATION.md](CONFIGURATION.md).',
    '',
    '| option | meaning |',
    '| --- | --- |',
    ...program.options.map(optionRow),
    '',
    '| command | what it does |',
    '| --- | --- |',
    ...top.map((c) => {
      const word = c.aliases().length > 1 ? 'aliases' : 'alias';
      const aliases = c.aliases().length > 0 ? ` (${word} ${c.aliases().map(code).join(', ')})` : '';
      return `| [${code(c.name())}](#${anchor(commandPath(c))})${aliases} | ${cell(c.description())} |`;
    }),
    '',
    ...top.flatMap((c) => section(c, 2)),
  ];
  const text = lines.join('\n').replace(/\n{3,}/g, '\n\n');
  return `${text.trimEnd()}\n`;
}

/** GitHub's heading anchor for `` `p8fs dlq list` ``. */
function anchor(path: string): string {
  return path
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const text = renderCliDoc();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(CLI_DOC_PATH, 'utf8');
    } catch {}
    if (current !== text) {
      console.error('docs/CLI.md is stale: run `make docs`');
      process.exit(1);
    }
  } else {
    writeFileSync(CLI_DOC_PATH, text);
    console.log(`[docs] wrote docs/CLI.md (${text.split('\n').length - 1} lines)`);
  }
}
