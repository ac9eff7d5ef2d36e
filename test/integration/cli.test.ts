/**
 * The real `p8fs` process: the seeds' self-test end to end on the real servers, and start-up errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/clients/nats.js';
import { connectClient } from '../../src/clients/postgres.js';
import { createS3Client } from '../../src/clients/s3.js';
import { loadConfig } from '../../src/config/config.js';
import { samplesDir } from '../../src/stack/paths.js';
import { runCli, startCli } from '../support/cli.js';
import { dropBucket, eventually } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('cli') as Record<string, string>;
const cfg = loadConfig(env);
const tenants: string[] = [];
function tenantFor(label: string): string {
  const tenant = uniqueTenant(label);
  tenants.push(tenant);
  return tenant;
}

beforeAll(async () => {
  const migrated = await runCli(['migrate'], env);
  expect(migrated.code, migrated.stderr).toBe(0);
});

afterAll(async () => {
  const s3 = createS3Client(cfg);
  for (const bucket of [...tenants, cfg.s3.derivedBucket])
    await dropBucket(s3, bucket).catch(() => undefined);
  s3.destroy();
  const nc = await connectNats(cfg, 'cli-test-cleanup');
  const jsm = await jetstreamManager(nc);
  for (const stream of [cfg.nats.eventsStream, cfg.nats.dlqStream, cfg.nats.testStream])
    await jsm.streams.delete(stream).catch(() => undefined);
  await nc.close();
  const admin = await connectClient(cfg, 'postgres');
  await admin.query(`DROP DATABASE IF EXISTS "${cfg.pg.database}" WITH (FORCE)`).finally(() => admin.end());
});

describe('p8fs CLI process (real servers)', () => {
  it('storage-worker --send-sample Sample.pdf: upload → publish → process → report, exit 0', async () => {
    const tenant = tenantFor('selftest');
    const result = await runCli(
      [
        'storage-worker',
        '--tier',
        'small',
        '--send-sample',
        join(samplesDir(), 'content/Sample.pdf'),
        '--tenant',
        tenant,
      ],
      env,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /1\/5 uploaded .*Sample\.pdf → s3:\/\/.*\/test\/Sample\.pdf \(840059 bytes, application\/pdf\)/,
    );
    expect(result.stdout).toMatch(
      new RegExp(`2/5 published on ${cfg.nats.testSubject.replace(/\./g, '\\.')}`),
    );
    expect(result.stdout).toMatch(/3\/5 routed to .*-storage-small as workflow ingest-create\//);
    // A small file is ingested by one activity (src/activities/ingest/ingest-small.ts).
    expect(result.stdout).toContain('ingestSmallFile completed');
    expect(result.stdout).toMatch(/5\/5 completed: provider pdf, pages 8, (\d+) chunks, \1 resources rows/);
    expect(result.stdout).toContain('[self-test] PASSED');
  });

  it('self-test --send-sample with a corrupt file fails with exit 1 and says why', async () => {
    // A WAV header followed by bytes no decoder accepts (audio is a supported type since transcription).
    const dir = mkdtempSync(join(tmpdir(), 'p8fs-cli-test-'));
    const corrupt = join(dir, 'corrupt.wav');
    writeFileSync(
      corrupt,
      Buffer.concat([Buffer.from('RIFF$\u0010\u0000\u0000WAVEfmt ', 'latin1'), Buffer.alloc(200, 0x5a)]),
    );
    const result = await runCli(
      ['self-test', '--tier', 'small', '--send-sample', corrupt, '--tenant', tenantFor('wav')],
      env,
    ).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/workflow failed: .*corrupt\.wav is damaged or not audio \(ffprobe: /);
    expect(result.stdout).toContain('[self-test] FAILED');
  });

  it('demo ingests every sample and prints the table; a second run adds no rows', async () => {
    const tenant = tenantFor('demo');
    const first = await runCli(['demo', '--skip-stack', '--tenant', tenant], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/file\s+tier\s+provider\s+pages\s+chunks\s+seconds\s+status/);
    expect(first.stdout).toMatch(/content\/Sample\.pdf\s+small\s+pdf\s+8\s+\d+\s+[\d.]+\s+completed/);
    // The WAVs are transcribed: Sample.wav's speech, small/sample.wav's tone said to hold none.
    expect(first.stdout).toMatch(/small\/sample\.wav\s+small\s+audio\s+-\s+1\s+[\d.]+\s+completed/);
    expect(first.stdout).toMatch(/content\/Sample\.wav\s+small\s+audio\s+-\s+\d+\s+[\d.]+\s+completed/);
    expect(first.stdout).toMatch(/Transcripts:\n(.*\n)*\s+Sample\.wav \[0\.0s - 8\.8s\]: \S+/);
    expect(first.stdout).toMatch(/\s+sample\.wav \[0\.0s - 0\.5s\]: \(no speech recognised\)/);
    // Every sample completes (the demo's sample set grows with the providers: counted, not fixed here).
    expect(first.stdout).toMatch(/Tenant .*: \d+ files \(0 failed\), \d+ resources rows/);
    const [, files, total] =
      /Tenant .*: (\d+) files \(0 failed\), (\d+) resources rows/.exec(first.stdout) ?? [];
    expect(Number(total)).toBeGreaterThan(0);
    expect(first.stdout).toContain('Temporal UI: ');

    const second = await runCli(['demo', '--skip-stack', '--tenant', tenant], env);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/content\/Sample\.pdf .*completed \(earlier run\)/);
    expect(second.stdout).toContain(`${files} files (0 failed), ${total} resources rows`);
    // Transcribing the two WAVs and OCR of Sample.pdf's page 8 take tens of seconds on a busy 2-core machine.
  }, 480_000); // two demo runs with the local model: 177 s alone on 2 cores, over 240 s beside a soak

  it('bridge process (as the seeds start it: router --worker-id): serves /health and /metrics, routes an event, stops gracefully on SIGTERM', async () => {
    const healthPort = await freePort();
    const bridge = startCli(['router', '--worker-id=local-router'], {
      ...env,
      P8FS_LOG_LEVEL: 'info',
      P8FS_BRIDGE_HEALTH_PORT: String(healthPort),
    });
    try {
      await bridge.waitFor(/bridge running/);
      // One name in the logs whatever the command was called; the seeds' worker id marks the instance.
      expect(bridge.output()).toMatch(
        /"name":"p8fs-bridge".*"instance":"local-router".*"msg":"bridge running"/,
      );
      const health = await fetch(`http://127.0.0.1:${healthPort}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ process: 'p8fs-bridge', status: 'ok', temporal: 'up' });
      const nc = await connectNats(cfg, 'cli-test-publisher');
      await jetstream(nc).publish(cfg.nats.eventsSubject, '{"event_type":"create","path":"/buckets/t/x/"}');
      await nc.close();
      await eventually('the directory event to be counted', async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
        return /^p8fs_bridge_ignored_total 1$/m.test(metrics) ? metrics : undefined;
      });
    } finally {
      bridge.child.kill('SIGTERM');
    }
    expect(await bridge.exited).toBe(0);
    expect(bridge.output()).toMatch(/shutting down/);
    expect(bridge.output()).toMatch(/"ignored":1.*"msg":"bridge stopped"/);
  });

  it('status and stack status report the servers of the environment', async () => {
    const status = await runCli(['status'], env);
    expect(status.code, status.stderr).toBe(0);
    for (const section of ['Servers', 'JetStream', 'PostgreSQL', 'Temporal'])
      expect(status.stdout).toContain(section);
    expect(status.stdout).toMatch(/temporal\s+up\s+gRPC/);
    expect(status.stdout).toMatch(/status: ok/);
    const json = await runCli(['status', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      parts: { Temporal: { taskQueues: { name: string; workflow: { pollers: number; backlog: number } }[] } };
    };
    expect(report.ok).toBe(true);
    const queues = report.parts.Temporal.taskQueues.map((q) => q.name);
    expect(queues).toEqual(
      expect.arrayContaining([
        `${env.P8FS_TASK_QUEUE_PREFIX}-storage-small`,
        `${env.P8FS_TASK_QUEUE_PREFIX}-llm`,
      ]),
    );
    // Temporal unreachable: the report says so and the exit code is 1.
    const noTemporal = await runCli(['status'], {
      ...env,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    });
    expect(noTemporal.code).toBe(1);
    expect(noTemporal.stdout).toMatch(/PROBLEM: (temporal is down|Temporal: )/);
    const stack = await runCli(['stack', 'status'], env);
    expect(stack.code).toBe(0);
    const dead = await runCli(['stack', 'status'], {
      ...env,
      P8FS_NATS_MONITOR_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(dead.code).toBe(1);
    expect(dead.stdout).toMatch(/nats\s+down/);
  }, 180_000);

  it('a bad variable stops the process with a message naming it', async () => {
    const result = await runCli(['migrate'], { ...env, P8FS_PG_PORT: 'abc' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('P8FS_PG_PORT="abc" is invalid');
  });

  it('event check prints the tier and workflow id, or the rejection reason with exit 1', async () => {
    const ok = await runCli(
      ['event', 'check', '-'],
      env,
      '{"event_type":"create","path":"/buckets/tenant-test/uploads/report.pdf","size":840059,"mime_type":"application/pdf"}',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/tier: small/);
    const bad = await runCli(
      ['event', 'check', '-'],
      env,
      '{"event_type":"create","path":"/buckets/t/../etc/passwd"}',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/rejected: .*\.\./);
  });

  it('--help works on the real process', async () => {
    const result = await runCli(['storage-worker', '--help'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: p8fs storage-worker/);
    expect(result.stdout).toContain('--send-sample <file>');
    // The process commands load alone (src/cli/main.ts): under every name and alias. Side by side: one
    // after another, six process starts took over a minute on a loaded machine.
    const names = [
      ['self-test', 'self-test'],
      ['router', 'bridge'],
      ['tiered-storage-router', 'bridge'],
      ['seaweed-events', 'subscriber'],
      ['seaweedfs-grpc-subscriber', 'subscriber'],
      ['dreaming-worker', 'dreaming-worker'],
    ] as const;
    const helps = await Promise.all(names.map(([name]) => runCli([name, '--help'], env)));
    names.forEach(([name, usage], i) => {
      const help = helps[i];
      expect(help?.code, `${name}: ${help?.stderr}`).toBe(0);
      expect(help?.stdout).toMatch(new RegExp(`Usage: p8fs ${usage}[ |]`));
    });
  }, 180_000);
});
