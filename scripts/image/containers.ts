/**
 * The container engine as `make image-test` uses it: every call goes through scripts/image/engine.sh, so
 * the test runs with the same engine and settings `make image` built with (docker, else podman with this
 * machine kind's containers.conf). A container runs one role the way its manifest does: its user, a
 * read-only root (no extra tmpfs of the engine's own), its emptyDir paths as the only writable places,
 * all capabilities dropped, no privilege escalation, the host's network (the local stack's servers listen
 * on 127.0.0.1; Kubernetes would give each pod its own address instead).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RoleSpec } from './manifests.js';

const run = promisify(execFile);

export class Engine {
  constructor(private readonly root: string) {}

  /** Runs `engine ARGS`, returning stdout; a failure carries the engine's stderr. */
  async call(args: string[], timeoutMs = 120_000): Promise<string> {
    try {
      const { stdout } = await run('bash', [join(this.root, 'scripts/image/engine.sh'), ...args], {
        cwd: this.root,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${args.slice(0, 2).join(' ')} failed: ${(e.stderr || e.message).trim()}`);
    }
  }

  async describe(): Promise<string> {
    return (await this.call(['--print'])).trim();
  }

  async imageExists(image: string): Promise<boolean> {
    return this.call(['image', 'inspect', '--format', '{{.Id}}', image]).then(
      () => true,
      () => false,
    );
  }

  async imageSize(image: string): Promise<number> {
    return Number((await this.call(['image', 'inspect', '--format', '{{.Size}}', image])).trim());
  }

  /** Starts `role` detached as container `name`; `env` is the whole environment it gets. */
  async start(name: string, image: string, role: RoleSpec, env: Record<string, string>): Promise<void> {
    await this.call(['rm', '--force', '--ignore', name]).catch(() => undefined);
    const flags = ['run', '--detach', '--name', name, '--network', 'host'];
    flags.push('--user', `${role.user}:${role.group}`);
    // The engine's own writable /tmp, /var/tmp and /run on a read-only root would hide a missing volume.
    if (role.readOnlyRoot) flags.push('--read-only', '--read-only-tmpfs=false');
    // An emptyDir is an empty directory any user of the pod may write: a tmpfs with the same mode.
    for (const path of role.emptyDirs) flags.push('--tmpfs', `${path}:rw,mode=1777`);
    if (role.dropAllCapabilities) flags.push('--cap-drop', 'ALL');
    if (role.noNewPrivileges) flags.push('--security-opt', 'no-new-privileges');
    flags.push('--stop-timeout', String(role.graceSeconds));
    for (const [key, value] of Object.entries(env)) flags.push('--env', `${key}=${value}`);
    await this.call([...flags, image, ...role.args]);
  }

  async logs(name: string): Promise<string> {
    try {
      const { stdout, stderr } = await run(
        'bash',
        [join(this.root, 'scripts/image/engine.sh'), 'logs', name],
        { cwd: this.root, maxBuffer: 64 * 1024 * 1024 },
      );
      return stdout + stderr;
    } catch (error) {
      return `(no logs: ${(error as Error).message})`;
    }
  }

  async state(name: string): Promise<{ running: boolean; exitCode: number; pid: number }> {
    const out = await this.call([
      'inspect',
      '--format',
      '{{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}',
      name,
    ]);
    const [running, exitCode, pid] = out.trim().split(' ');
    return { running: running === 'true', exitCode: Number(exitCode), pid: Number(pid) };
  }

  /** Waits for the container to exit; its exit code. */
  async wait(name: string, timeoutMs: number): Promise<number> {
    const out = await this.call(['wait', name], timeoutMs);
    return Number(out.trim().split('\n').pop());
  }

  /**
   * SIGTERM, as the kubelet sends it, then the time until the container exited and its code; after the
   * grace period it is killed (exit code 137 then), as the kubelet would.
   */
  async terminate(name: string, graceSeconds: number): Promise<{ seconds: number; exitCode: number }> {
    const started = Date.now();
    await this.call(['kill', '--signal', 'TERM', name]);
    try {
      const exitCode = await this.wait(name, graceSeconds * 1000);
      return { seconds: (Date.now() - started) / 1000, exitCode };
    } catch {
      await this.call(['kill', '--signal', 'KILL', name]).catch(() => undefined);
      return { seconds: (Date.now() - started) / 1000, exitCode: 137 };
    }
  }

  async remove(name: string): Promise<void> {
    await this.call(['rm', '--force', '--ignore', name]).catch(() => undefined);
  }
}

/** Resident memory of a process and all its descendants (the container's tini, node and children), bytes. */
export function treeRss(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces) start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const current = pending.pop() as number;
    try {
      const status = readFileSync(`/proc/${current}/status`, 'utf8');
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // Gone meanwhile.
    }
    pending.push(...(children.get(current) ?? []));
  }
  return total;
}
