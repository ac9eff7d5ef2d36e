import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';

function allCommands(command: Command, path: string[] = []): [string, Command][] {
  return command.commands.flatMap((sub) => {
    const here = [...path, sub.name()];
    return [[here.join(' '), sub] as [string, Command], ...allCommands(sub, here)];
  });
}

describe('p8fs --help', () => {
  const commands = allCommands(buildProgram());

  it('lists the names users type', () => {
    const names = commands.map(([name]) => name);
    for (const expected of [
      'stack up',
      'stack down',
      'stack status',
      'migrate',
      'bridge',
      'worker',
      'storage-worker',
      'event check',
      'demo',
      'status',
      'dlq list',
      'dlq replay',
      'dream start',
      'dream complete',
      'eval',
    ]) {
      expect(names).toContain(expected);
    }
    expect(commands.find(([name]) => name === 'bridge')?.[1].aliases()).toContain('router');
  });

  it.each(commands.map(([name, command]) => [name, command] as const))(
    '%s has a description and help',
    (name, command) => {
      expect(command.description().length, name).toBeGreaterThan(10);
      expect(command.helpInformation()).toContain(`Usage: p8fs ${name}`);
    },
  );
});
