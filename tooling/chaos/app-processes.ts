import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { execArgvFor, stopChild } from '../../src/processes/supervisor';
import { distDir } from '../../src/platform/paths';
import { waitFor } from '../../src/platform/wait';
import type { ProcessName } from '../../src/processes/table';

/**
 * The app's processes for the campaign: like `shipshape run` (same entry points, one log file each),
 * but each process has an environment of its own (crash points, a proxy in front of NATS or
 * PostgreSQL), and the campaign decides when a dead one comes back, and with what.
 */
export class AppProcesses {
  private readonly children = new Map<ProcessName, ChildProcess>();
  private readonly env = new Map<ProcessName, NodeJS.ProcessEnv>();
  private readonly exits = new Map<ProcessName, string>();
  private stopping = false;

  constructor(
    private readonly opts: {
      logDir: string;
      baseEnv: NodeJS.ProcessEnv;
      /** Each worker's metrics port; undefined serves none. */
      metricsPort?: (name: ProcessName) => number | undefined;
      log: (line: string) => void;
      readyTimeoutMs?: number;
    },
  ) {
    mkdirSync(opts.logDir, { recursive: true });
  }

  /** Extra environment for one process, used from its next start on. */
  setEnv(name: ProcessName, env: NodeJS.ProcessEnv): void {
    this.env.set(name, env);
  }

  pid(name: ProcessName): number | undefined {
    const c = this.children.get(name);
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  running(name: ProcessName): boolean {
    return this.pid(name) !== undefined;
  }

  /** How the process last ended (`SIGKILL`, `code 1`), undefined while it runs or never ran. */
  lastExit(name: ProcessName): string | undefined {
    return this.exits.get(name);
  }

  /** Starts one process and resolves once it says it is ready (it sends `{ ready }` over IPC). */
  start(name: ProcessName): Promise<void> {
    if (this.running(name)) return Promise.resolve();
    const logFile = path.join(this.opts.logDir, `${name}.log`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const metricsPort = this.opts.metricsPort?.(name);
    const child = fork(path.join(distDir, 'workers', `${name}.js`), [], {
      env: {
        ...this.opts.baseEnv,
        ...(metricsPort ? { METRICS_PORT: String(metricsPort) } : {}),
        ...this.env.get(name),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: execArgvFor(name),
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    this.children.set(name, child);
    this.exits.delete(name);
    const timeoutMs = this.opts.readyTimeoutMs ?? 120_000;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} was not ready within ${timeoutMs} ms; see ${logFile}`)),
        timeoutMs,
      );
      child.on('message', (m: { ready?: string }) => {
        if (m?.ready) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const how = signal ?? `code ${code}`;
        this.exits.set(name, how);
        if (!this.stopping) this.opts.log(`${name} exited (${how})`);
        // Rejects only if it died before it was ready; later exits are the campaign's to notice.
        reject(new Error(`${name} exited (${how}) before it was ready; see ${logFile}`));
      });
    });
  }

  /** Sends a signal to one process (SIGKILL, SIGSTOP, SIGCONT); false if it is not running. */
  signal(name: ProcessName, signal: NodeJS.Signals): boolean {
    const pid = this.pid(name);
    if (pid === undefined) return false;
    process.kill(pid, signal);
    return true;
  }

  /** SIGKILL and wait until the process is gone. */
  async kill(name: ProcessName): Promise<void> {
    if (!this.signal(name, 'SIGKILL')) return;
    await waitFor(`${name} to die`, () => !this.running(name), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
  }

  /** SIGTERM (after SIGCONT, in case it is paused) and wait until it has exited; SIGKILL after the grace period. */
  async stop(name: ProcessName, graceMs = 15_000): Promise<void> {
    if (!this.running(name)) return;
    this.signal(name, 'SIGCONT');
    this.signal(name, 'SIGTERM');
    try {
      await this.waitForExit(name, graceMs);
    } catch {
      await this.kill(name);
    }
  }

  /** Resolves once the process has exited (a crash point fired), or rejects after the timeout. */
  async waitForExit(name: ProcessName, timeoutMs: number): Promise<void> {
    await waitFor(`${name} to exit`, () => !this.running(name), { timeoutMs, intervalMs: 50 });
  }

  /** SIGTERM to all (SIGCONT first, in case one is paused), SIGKILL to any still there after the grace period. */
  async stopAll(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.children.values()].map((child) => stopChild(child, graceMs)));
    this.children.clear();
  }
}
