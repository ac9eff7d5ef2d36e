/**
 * `p8fs dlq list|show|replay|discard`: dead letters as an operator handles them. Every command that names
 * sequences fails (exit 1, nothing done) when one of them is not in the DLQ, so a typo never looks like
 * success; selectors (--reason, --since, --all) act on whatever matches, and say how many that was.
 */
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Command, InvalidArgumentError } from 'commander';
import { connectNats } from '../../clients/nats.js';
import { type Config, loadConfig } from '../../config/config.js';
import { parseSince } from '../../domain/since.js';
import {
  type DeadLetterSelector,
  discardDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  type StoredDeadLetter,
  selectDeadLetters,
} from '../../events/dead-letter-queue.js';

interface FilterOptions {
  reason?: string;
  since?: Date;
}

function sequence(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a dead-letter sequence number`);
  }
  return n;
}

function since(value: string): Date {
  try {
    return parseSince(value, new Date());
  } catch (error) {
    // commander's InvalidArgumentError takes no options: the cause is set on it.
    throw Object.assign(new InvalidArgumentError((error as Error).message), { cause: error });
  }
}

async function withDlq<T>(action: (cfg: Config, jsm: JetStreamManager, nc: NatsConnection) => Promise<T>) {
  const cfg = loadConfig();
  const nc = await connectNats(cfg, 'p8fs-dlq');
  try {
    return await action(cfg, await jetstreamManager(nc), nc);
  } finally {
    await nc.close();
  }
}

function payloadOf(l: StoredDeadLetter): string {
  return l.letter.payload ?? `(base64) ${l.letter.payloadBase64}`;
}

function summaryLine(l: StoredDeadLetter): string {
  const replays = l.letter.replays ? ` (replayed ${l.letter.replays}× before)` : '';
  return `#${l.seq} ${l.time.toISOString()} ${l.letter.reason}${replays}`;
}

/** Resolves the selection; unknown sequences make the whole command fail before anything changes. */
async function selection(
  cfg: Config,
  jsm: JetStreamManager,
  seqs: number[],
  options: FilterOptions & { all?: boolean },
): Promise<StoredDeadLetter[] | undefined> {
  const selector: DeadLetterSelector = {
    seqs,
    all: options.all,
    reason: options.reason,
    since: options.since,
  };
  const { letters, missing } = await selectDeadLetters(jsm, cfg, selector);
  if (missing.length > 0) {
    console.error(
      `p8fs: no dead letter ${missing.map((s) => `#${s}`).join(', ')} in ${cfg.nats.dlqStream} (see \`p8fs dlq list\`); nothing was changed`,
    );
    process.exitCode = 1;
    return undefined;
  }
  if (letters.length === 0) console.log(`no dead letter in ${cfg.nats.dlqStream} matches`);
  return letters;
}

function addSelectors(command: Command): Command {
  return command
    .argument('[seq...]', 'dead-letter sequence numbers (see `p8fs dlq list`)')
    .option('--reason <text>', 'every dead letter whose reason contains this text (case-insensitive)')
    .option(
      '--since <when>',
      'only dead letters newer than this: ISO date/time or an age (90s, 15m, 2h, 7d)',
      since,
    )
    .option('--all', 'every dead letter');
}

export function registerDlqCommands(program: Command): void {
  const dlq = program.command('dlq').description('Inspect, replay and discard dead-lettered storage events');

  dlq
    .command('list')
    .description('List dead letters: sequence, time, reason (and earlier replays), the original payload')
    .option('--reason <text>', 'only those whose reason contains this text (case-insensitive)')
    .option('--since <when>', 'only those newer than this: ISO date/time or an age (90s, 15m, 2h, 7d)', since)
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON lines instead of text')
    .action(async (options: FilterOptions & { limit: string; json?: boolean }) => {
      await withDlq(async (cfg, jsm) => {
        const letters = await listDeadLetters(jsm, cfg, sequence(options.limit), options);
        if (options.json) {
          for (const l of letters)
            console.log(JSON.stringify({ seq: l.seq, time: l.time.toISOString(), ...l.letter }));
          return;
        }
        if (letters.length === 0) console.log(`${cfg.nats.dlqStream}: no dead letters match`);
        for (const l of letters) {
          console.log(summaryLine(l));
          console.log(`    payload: ${payloadOf(l).slice(0, 300)}`);
        }
      });
    });

  dlq
    .command('show')
    .description('Show one dead letter in full: the original event, the reason, when, how often replayed')
    .argument('<seq>', 'dead-letter sequence number', sequence)
    .option('--json', 'print JSON')
    .action(async (seq: number, options: { json?: boolean }) => {
      await withDlq(async (cfg, jsm) => {
        const letters = await selection(cfg, jsm, [seq], {});
        const l = letters?.[0];
        if (!l) return;
        if (options.json) {
          console.log(JSON.stringify({ seq: l.seq, time: l.time.toISOString(), ...l.letter }, null, 2));
          return;
        }
        const { letter } = l;
        console.log(`dead letter #${l.seq} in ${cfg.nats.dlqStream}`);
        console.log(`  reason:        ${letter.reason}`);
        console.log(`  dead-lettered: ${l.time.toISOString()}`);
        console.log(`  replayed:      ${letter.replays ?? 0} time(s) before`);
        console.log(
          `  original:      ${letter.stream} seq ${letter.streamSequence} on ${letter.subject}, delivered ${letter.deliveryCount}×, received ${letter.receivedAt}`,
        );
        console.log('  event:');
        let pretty = payloadOf(l);
        try {
          pretty = JSON.stringify(JSON.parse(pretty), null, 2);
        } catch {
          // Not JSON (that may be why it is here): shown as it came.
        }
        for (const line of pretty.split('\n')) console.log(`    ${line}`);
      });
    });

  addSelectors(
    dlq
      .command('replay')
      .description(
        'Republish dead letters on the events subject for the bridge to route again, then remove them',
      ),
  ).action(async (seqs: string[], options: FilterOptions & { all?: boolean }) => {
    await withDlq(async (cfg, jsm, nc) => {
      const letters = await selection(cfg, jsm, seqs.map(sequence), options);
      if (!letters) return;
      const js = jetstream(nc);
      for (const letter of letters) {
        const newSeq = await replayDeadLetter(js, jsm, cfg, letter);
        console.log(
          `#${letter.seq} replayed as ${cfg.nats.eventsStream} seq ${newSeq} (was: ${letter.letter.reason})`,
        );
      }
      if (letters.length > 0) console.log(`${letters.length} dead letter(s) replayed`);
    });
  });

  addSelectors(
    dlq.command('discard').description('Remove dead letters for good (after reading them with `dlq show`)'),
  ).action(async (seqs: string[], options: FilterOptions & { all?: boolean }) => {
    await withDlq(async (cfg, jsm) => {
      const letters = await selection(cfg, jsm, seqs.map(sequence), options);
      if (!letters) return;
      for (const letter of letters) {
        await discardDeadLetter(jsm, cfg, letter.seq);
        console.log(`#${letter.seq} discarded (was: ${letter.letter.reason})`);
      }
      if (letters.length > 0) console.log(`${letters.length} dead letter(s) discarded`);
    });
  });
}
