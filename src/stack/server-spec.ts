/** What the stack knows of each server: its addresses, how to probe it, start it and stop it. */
import { errorText } from '../domain/errors.js';
import { readPid, stopPid } from './processes.js';

export type ServerName = 'temporal' | 'nats' | 'seaweedfs' | 'postgres';

export interface Probe {
  ok: boolean;
  detail: string;
}

export interface ServerSpec {
  name: ServerName;
  /** Addresses people use, shown by `stack status`. */
  endpoints: Record<string, string>;
  /** Only servers on this machine's loopback can be started by us; others must already run. */
  local: boolean;
  /** The variable(s) that point at it, named when it does not answer. */
  variable: string;
  probe(): Promise<Probe>;
  /**
   * Why a running server this stack folder started must be restarted to take up changed arguments
   * (undefined: reuse it). A server someone else started is always reused as it is.
   */
  outdated?(): string | undefined;
  start(): Promise<void>;
  stop(): Promise<boolean>;
  logFile: string;
}

export const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function hostOf(address: string): string {
  return new URL(address.includes('://') ? address : `tcp://${address}`).hostname;
}

export async function httpOk(url: string, timeoutMs = 2000): Promise<Probe> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { ok: response.ok, detail: `${url} → HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, detail: `${url} unreachable (${errorText(error)})` };
  }
}

export async function stopByPidFile(pidFile: string): Promise<boolean> {
  const pid = readPid(pidFile);
  if (pid === undefined) return false;
  await stopPid(pid);
  return true;
}
