/**
 * Dead letters are not the end: `p8fs dlq list` shows the reason, and once the cause is fixed (here: the
 * object is uploaded after its event arrived) `p8fs dlq replay` sends the event through the bridge again.
 * Real servers and the real CLI process.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdFor } from '../../src/domain/ids.js';
import { listDeadLetters, type StoredDeadLetter } from '../../src/events/dead-letter-queue.js';
import { runCli } from '../support/cli.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('replay');
let p: Pipeline;

beforeAll(async () => {
  p = await createPipeline('replay', {}, env);
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

/** The DLQ with sequence numbers, as the CLI sees it. */
async function storedLetters(): Promise<StoredDeadLetter[]> {
  return listDeadLetters(await jetstreamManager(p.nc), p.cfg, 10_000);
}

describe('dead-letter replay (real servers, real CLI)', () => {
  it('an event that arrived before its object is dead-lettered, listed, and completes after replay', async () => {
    const tenant = uniqueTenant('replay');
    const path = `/buckets/${tenant}/uploads/late.txt`;
    await p.putObject(tenant, 'uploads/placeholder.txt', 'bucket exists, object not yet');
    await p.publish({ event_type: 'create', path, size: 42, mime_type: 'text/plain' });
    await eventually('the dead letter', async () =>
      (await p.deadLetters()).length === 1 ? true : undefined,
    );

    const listed = await runCli(['dlq', 'list'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(
      /#\d+ .* create event for s3:\/\/.*\/uploads\/late\.txt, which does not exist/,
    );
    expect(listed.stdout).toContain(path);

    await p.putObject(
      tenant,
      'uploads/late.txt',
      'The object arrived late.\n\nNow it can be ingested.',
      'text/plain',
    );
    const replayed = await runCli(['dlq', 'replay', '--all'], env);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(/#\d+ replayed as .* seq \d+ \(was: create event for/);

    const fileId = fileIdFor(tenant, path);
    const status = await eventually('the replayed file to complete', async () => {
      const r = await p.pool.query<{ status: string }>('SELECT status FROM files WHERE id = $1', [fileId]);
      return r.rows[0]?.status === 'completed' ? r.rows[0].status : undefined;
    });
    expect(status).toBe('completed');
    expect(await p.deadLetters()).toHaveLength(0);
    const rows = await p.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
      [fileId],
    );
    expect(rows.rows[0]?.n).toBeGreaterThan(0);
  }, 180_000);

  it('show, replay by number, the replay count, filters and discard; an unknown sequence is an error', async () => {
    const tenant = uniqueTenant('dlqops');
    await p.putObject(tenant, 'uploads/placeholder.txt', 'bucket exists');
    const missing = (name: string) => ({
      event_type: 'create',
      path: `/buckets/${tenant}/uploads/${name}`,
      size: 5,
      mime_type: 'text/plain',
    });
    await p.publish(missing('ghost-a.txt'));
    await p.publish(missing('ghost-b.txt'));
    const letters = await eventually('two dead letters', async () => {
      const all = (await storedLetters()).filter((l) => l.letter.payload?.includes(tenant));
      return all.length === 2 ? all : undefined;
    });
    // The bridge handles a pull batch concurrently, so ghost-b may be dead-lettered before ghost-a.
    const a = letters.find((l) => l.letter.payload?.includes('ghost-a.txt'));
    const b = letters.find((l) => l.letter.payload?.includes('ghost-b.txt'));
    if (!a || !b) throw new Error('expected one dead letter for each of ghost-a and ghost-b');

    const show = await runCli(['dlq', 'show', String(a.seq)], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`dead letter #${a.seq}`);
    expect(show.stdout).toMatch(/reason: +create event for s3:\/\/.*ghost-a\.txt, which does not exist/);
    expect(show.stdout).toMatch(/replayed: +0 time\(s\) before/);
    expect(show.stdout).toContain(`"path": "/buckets/${tenant}/uploads/ghost-a.txt"`);

    const unknown = await runCli(['dlq', 'replay', String(a.seq), '999999'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no dead letter #999999 .*nothing was changed/);
    expect((await storedLetters()).some((l) => l.seq === a.seq)).toBe(true);
    const badSince = await runCli(['dlq', 'list', '--since', 'last tuesday'], env);
    expect(badSince.code).not.toBe(0);
    expect(badSince.stderr).toMatch(/--since "last tuesday" is neither an ISO date/);

    // The cause is not fixed: the replayed event comes back, and says it was replayed once.
    const replayed = await runCli(['dlq', 'replay', String(a.seq)], env);
    expect(replayed.code, replayed.stderr).toBe(0);
    const again = await eventually('ghost-a to be dead-lettered again', async () =>
      (await storedLetters()).find((l) => l.letter.payload?.includes('ghost-a') && l.seq !== a.seq),
    );
    expect(again.letter.replays).toBe(1);
    const listed = await runCli(['dlq', 'list', '--reason', 'GHOST-A', '--since', '10m'], env);
    expect(listed.stdout).toMatch(
      new RegExp(`#${again.seq} .*ghost-a\\.txt, which does not exist.*\\(replayed 1× before\\)`),
    );
    expect(listed.stdout).not.toContain('ghost-b');

    const discarded = await runCli(['dlq', 'discard', '--reason', tenant], env);
    expect(discarded.code, discarded.stderr).toBe(0);
    expect(discarded.stdout).toMatch(/2 dead letter\(s\) discarded/);
    expect((await storedLetters()).filter((l) => l.letter.payload?.includes(tenant))).toHaveLength(0);
  }, 240_000);
});
