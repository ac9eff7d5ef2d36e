/**
 * `p8fs event check`: run one storage event through the exact parser the bridge uses, so a producer can
 * see what P8FS Flows will make of a message (or why it would be dead-lettered) without a running stack.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { reservedBuckets } from '../../bridge/route-event.js';
import { loadConfig } from '../../config/config.js';
import { fileIdFor, ingestWorkflowId } from '../../domain/ids.js';
import { parseStorageEvent, type StorageEvent } from '../../domain/storage-event.js';
import { tierForSize } from '../../domain/tiers.js';

/** Where the command reads and writes; tests pass their own. */
export interface EventCheckIo {
  out(line: string): void;
  err(line: string): void;
  readFile(path: string): Promise<Uint8Array>;
  readStdin(): Promise<Uint8Array>;
  tiers(): { smallMaxBytes: number; mediumMaxBytes: number };
}

const processIo: EventCheckIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readFile: (path) => readFile(path),
  readStdin: async () => {
    if (process.stdin.isTTY) process.stderr.write('reading the event from stdin (end with Ctrl-D)\n');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
  tiers: () => loadConfig().tiers,
};

export function registerEventCommands(program: Command, io: EventCheckIo = processIo): void {
  const event = program.command('event').description('Inspect storage events as the bridge sees them');
  event
    .command('check')
    .argument('[file]', 'JSON file holding one storage event; "-" or nothing reads stdin', '-')
    .description(
      'Validate and normalise one storage event: prints the normalised event, its size tier and the ' +
        'ingest workflow id it would start, or why it would be ignored or sent to the dead-letter queue ' +
        '(exit code 1 when rejected)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  p8fs event check event.json',
        `  echo '{"event_type":"create","path":"/buckets/tenant-test/uploads/report.pdf","size":840059}' \\`,
        '    | p8fs event check -',
      ].join('\n'),
    )
    .action(async (file: string) => {
      process.exitCode = await checkEvent(file, io);
    });
}

async function checkEvent(file: string, io: EventCheckIo): Promise<number> {
  let payload: Uint8Array;
  try {
    payload = file === '-' ? await io.readStdin() : await io.readFile(file);
  } catch (error) {
    io.err(`cannot read event file ${JSON.stringify(file)}: ${readErrorText(error)}`);
    return 1;
  }
  // The same reserved buckets as the bridge: the configured derived-data bucket (and every `p8fs-…`).
  const outcome = parseStorageEvent(payload, { reservedBuckets: reservedBucketsOfEnvironment() });
  if (outcome.kind === 'reject') {
    io.err(`rejected: ${outcome.reason}`);
    return 1;
  }
  if (outcome.kind === 'ignore') {
    io.err(`ignored: ${outcome.reason}`);
    return 0;
  }
  let tier: string;
  try {
    tier = describeTier(outcome.event, io);
  } catch (error) {
    io.err((error as Error).message);
    return 1;
  }
  io.out(JSON.stringify(outcome.event, null, 2));
  io.out(`tier: ${tier}`);
  io.out(`workflow id: ${ingestWorkflowId(outcome.event)}`);
  io.out(`file id: ${fileIdFor(outcome.event.tenantId, outcome.event.path)}`);
  return 0;
}

function reservedBucketsOfEnvironment(): string[] {
  try {
    return reservedBuckets(loadConfig());
  } catch {
    return []; // A broken configuration is reported where it matters; `p8fs-…` buckets stay reserved.
  }
}

function describeTier(event: StorageEvent, io: EventCheckIo): string {
  if (event.size === undefined) return "decided at routing time from the object's size in S3";
  return tierForSize(event.size, io.tiers());
}

function readErrorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (error as Error).message;
}
