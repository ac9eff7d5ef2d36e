/** The no-op ceiling's one activity: returns at once, so a run costs only Temporal's own round trips. */
export async function noop(step: number): Promise<number> {
  return step;
}

export type NoopActivities = { noop: typeof noop };
