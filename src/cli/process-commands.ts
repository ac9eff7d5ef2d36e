/**
 * The command names of the long-running processes: one primary name each, and the spellings kept as
 * aliases (the seeds' `router`, the Deployment names, the names this project used before). The process
 * names they log under are in src/telemetry/process-names.ts.
 */
export const PROCESS_COMMANDS = {
  bridge: { name: 'bridge', aliases: ['router', 'tiered-storage-router'] },
  subscriber: { name: 'subscriber', aliases: ['seaweed-events', 'seaweedfs-grpc-subscriber'] },
  /** Without --send-sample the storage worker; with it the self-test (the seeds' spelling). */
  storageWorker: { name: 'storage-worker', aliases: [] },
  dreamingWorker: { name: 'dreaming-worker', aliases: [] },
  userInsightWorker: { name: 'user-insight-worker', aliases: [] },
  /** `worker --tier small|medium|large` runs the storage worker; `--tier llm` the dreaming worker (deprecated). */
  worker: { name: 'worker', aliases: [] },
  api: { name: 'api', aliases: [] },
  selfTest: { name: 'self-test', aliases: [] },
} as const satisfies Record<string, { name: string; aliases: readonly string[] }>;
