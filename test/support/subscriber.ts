/**
 * A pipeline with the filer subscriber running in-process on the test file's own names (stream, cursor
 * bucket) and only below the test's tenant bucket, so files running in parallel on the shared filer never
 * see each other's objects.
 */
import { Kvm } from '@nats-io/kv';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { Tier } from '../../src/domain/tiers.js';
import { Subscriber } from '../../src/subscriber/subscriber.js';
import { createPipeline, type Pipeline } from './pipeline.js';

export interface SubscribedPipeline {
  p: Pipeline;
  subscriber: Subscriber;
  close(): Promise<void>;
}

/** Pipeline (bridge + workers of `tiers`) and subscriber for `env`; the tenant's bucket is created. */
export async function createSubscribedPipeline(
  label: string,
  env: Record<string, string | undefined>,
  tenant: string,
  tiers: Tier[],
): Promise<SubscribedPipeline> {
  const p = await createPipeline(label, {}, env);
  await p.startWorkers(tiers);
  await p.startBridge();
  const subscriber = await Subscriber.create(loadConfig(env), pino({ level: 'silent' }));
  subscriber.start();
  // Make the tenant's bucket (its creation is outside the subscriber's prefix).
  await p.putObject(tenant, '.keep-bucket', '');
  return {
    p,
    subscriber,
    async close() {
      await subscriber.stop();
      await new Kvm(p.nc)
        .open(env.P8FS_SUBSCRIBER_CURSOR_BUCKET as string)
        .then((kv) => kv.destroy())
        .catch(() => undefined);
      await p.close();
    },
  };
}
