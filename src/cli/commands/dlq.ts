import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Command } from 'commander';
import { connectNats } from '../../clients/nats.js';
import { loadConfig } from '../../config/config.js';
import { listDeadLetters, replayDeadLetter } from '../../events/dead-letter-queue.js';

export function registerDlqCommands(program: Command): void {
  const dlq = program.command('dlq').description('Inspect and replay dead-lettered storage events');

  dlq
    .command('list')
    .description('List dead letters: sequence, time, reason and the original payload')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON lines instead of a table')
    .action(async (options: { limit: string; json?: boolean }) => {
      const cfg = loadConfig();
      const nc = await connectNats(cfg, 'p8fs-dlq');
      try {
        const letters = await listDeadLetters(await jetstreamManager(nc), cfg, Number(options.limit));
        if (options.json) {
          for (const l of letters) console.log(JSON.stringify({ seq: l.seq, time: l.time, ...l.letter }));
          return;
        }
        if (letters.length === 0) console.log(`${cfg.nats.dlqStream} is empty`);
        for (const l of letters) {
          console.log(`#${l.seq} ${l.time.toISOString()} ${l.letter.reason}`);
          console.log(
            `    payload: ${(l.letter.payload ?? `(base64) ${l.letter.payloadBase64}`).slice(0, 300)}`,
          );
        }
      } finally {
        await nc.close();
      }
    });

  dlq
    .command('replay')
    .description(
      'Republish dead letters on the events subject for the bridge to route again, then remove them',
    )
    .argument('[seq...]', 'dead-letter sequence numbers (see `p8fs dlq list`)')
    .option('--all', 'replay every dead letter')
    .action(async (seqs: string[], options: { all?: boolean }) => {
      if (!options.all && seqs.length === 0) throw new Error('give dead-letter sequence numbers, or --all');
      const cfg = loadConfig();
      const nc = await connectNats(cfg, 'p8fs-dlq');
      try {
        const jsm = await jetstreamManager(nc);
        const wanted = new Set(seqs.map(Number));
        const letters = (await listDeadLetters(jsm, cfg, Number.MAX_SAFE_INTEGER)).filter(
          (l) => options.all || wanted.has(l.seq),
        );
        for (const seq of wanted) {
          if (!letters.some((l) => l.seq === seq)) console.log(`#${seq}: no such dead letter`);
        }
        for (const letter of letters) {
          const newSeq = await replayDeadLetter(jetstream(nc), jsm, cfg, letter);
          console.log(
            `#${letter.seq} replayed as ${cfg.nats.eventsStream} seq ${newSeq} (was: ${letter.letter.reason})`,
          );
        }
      } finally {
        await nc.close();
      }
    });
}
