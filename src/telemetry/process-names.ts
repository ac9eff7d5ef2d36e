/**
 * One name per long-running process, used for its logger (the `name` of every log line), its tracing
 * service, the `process` of its /health body and the `process` label of `p8fs_process_info` on /metrics
 * (health-server.ts reads it back from the logger). The CLI commands that start them are named in
 * src/cli/process-commands.ts; the Kubernetes Deployments keep the seeds' names (deploy/k8s).
 */
export const PROCESS_NAMES = {
  bridge: 'p8fs-bridge',
  subscriber: 'p8fs-subscriber',
  storageWorker: 'p8fs-storage-worker',
  dreamingWorker: 'p8fs-dreaming-worker',
  userInsightWorker: 'p8fs-user-insight-worker',
  api: 'p8fs-api',
  selfTest: 'p8fs-self-test',
} as const;

export type ProcessName = (typeof PROCESS_NAMES)[keyof typeof PROCESS_NAMES];
