/** The problems loadConfig reports for an environment (none: it loads), for tests of the variables. */
import { ConfigError, loadConfig } from '../../src/config/config.js';

export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}
