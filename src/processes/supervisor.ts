import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../platform/config';
import { distDir } from '../platform/paths';
import { runBehind } from './priority';
import { APP_PROCESSES, drains, metricsServedBy, nodeOptionsOf } from './table';
import type { ProcessName } from './table';
import { backoffMs } from '../platform/backoff';

interface Supervised {
  name: ProcessName;
  child: ChildProcess;
  restarts: number;
}

export interface SupervisorOptions {
  config: Config;
  /** The processes' environment, or each process's own (its credentials, say). */
  env?: NodeJS.ProcessEnv | ((name: ProcessName) => NodeJS.ProcessEnv);
  log: (line: string) => void;
  /** Restart a process that exits unexpectedly (the default). */
  restart?: boolean;
  readyTimeoutMs?: number;
  /** Extra Node options for every process (the benchmark's CPU profiles). */
  execArgv?: string[];
  /** Run only these (e.g. a second replica set of the workers); default: every process of the app. */
  names?: ProcessName[];
  /** Where the logs go; default `<stack dir>/logs`. A second supervisor of the same stack needs its own. */
  logDir?: string;
}

/** The processes `shipshape run` starts with this configuration, in order. */
export function processesToRun(config: Config): ProcessName[] {
  return [...(config.providers.useFakes ? (['fake-providers'] as const) : []), ...APP_PROCESSES];
}

/** A supervised process's METRICS_PORT: the stack's metrics base plus its place among `names`. */
const metricsPortOf = (config: Config, names: readonly ProcessName[], name: ProcessName) =>
  config.stack.ports.metricsBase + names.indexOf(name);

/**
 * Where each of `names`, run by a supervisor, serves GET /metrics: a worker on its METRICS_PORT, the
 * API on the API's port (with a key that has the `metrics` scope). Processes without metrics are left out.
 */
export function metricsUrls(
  config: Config,
  names: readonly ProcessName[],
): Partial<Record<ProcessName, string>> {
  const urls: Partial<Record<ProcessName, string>> = {};
  for (const name of names) {
    const served = metricsServedBy(name);
    if (served === 'api-port') urls[name] = `http://127.0.0.1:${config.api.port}/metrics`;
    if (served === 'metrics-port')
      urls[name] = `http://127.0.0.1:${metricsPortOf(config, names, name)}/metrics`;
  }
  return urls;
}

/** The node options a process of the app is forked with: ours, any extra, then its own from the table. */
export function execArgvFor(name: ProcessName, extra: readonly string[] = []): string[] {
  return [...process.execArgv, ...extra, ...nodeOptionsOf(name)];
}

/**
 * Starts the app's processes as children, each logging to its own file, restarts any that dies,
 * and stops them all together.
 */
export class Supervisor {
  private readonly procs = new Map<ProcessName, Supervised>();
  private stopping = false;
  readonly logDir: string;

  constructor(private readonly opts: SupervisorOptions) {
    this.logDir = opts.logDir ?? path.join(opts.config.stack.dir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
  }

  names(): ProcessName[] {
    return this.opts.names ?? processesToRun(this.opts.config);
  }

  /** Where each process it runs serves GET /metrics (see `metricsUrls`). */
  metricsUrls(): Partial<Record<ProcessName, string>> {
    return metricsUrls(this.opts.config, this.names());
  }

  pidOf(name: ProcessName): number | undefined {
    return this.procs.get(name)?.child.pid;
  }

  async startAll(): Promise<void> {
    const names = this.names();
    if (names[0] === 'fake-providers') await this.start('fake-providers');
    await Promise.all(names.filter((n) => n !== 'fake-providers').map((n) => this.start(n)));
  }

  /** Starts one process and resolves once it says it is ready. */
  start(name: ProcessName, restarts = 0): Promise<void> {
    const logFile = path.join(this.logDir, `${name}.log`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const metricsPort = metricsPortOf(this.opts.config, this.names(), name);
    const child = fork(path.join(distDir, 'workers', `${name}.js`), [], {
      env: {
        ...process.env,
        METRICS_PORT: String(metricsPort),
        ...(typeof this.opts.env === 'function' ? this.opts.env(name) : this.opts.env),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: execArgvFor(name, this.opts.execArgv),
    });
    // The processes that drain the backlog yield the cores to the API (and PostgreSQL) on this machine.
    if (drains(name)) runBehind(child.pid, this.opts.config.drainNiceness);
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    this.procs.set(name, { name, child, restarts });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${name} was not ready within ${this.opts.readyTimeoutMs ?? 120_000} ms; see ${logFile}`,
            ),
          ),
        this.opts.readyTimeoutMs ?? 120_000,
      );
      child.on('message', (m: { ready?: string }) => {
        if (m?.ready) {
          clearTimeout(timer);
          this.opts.log(`${name} ready (pid ${child.pid})`);
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.stopping) return;
        this.opts.log(`${name} exited (${signal ?? `code ${code}`}); see ${logFile}`);
        if (this.opts.restart === false) {
          reject(new Error(`${name} exited (${signal ?? `code ${code}`})`));
          return;
        }
        // Back off a little so a process that cannot start does not spin.
        const wait = backoffMs(restarts + 1, 500, 10_000);
        setTimeout(() => {
          if (this.stopping) return;
          this.opts.log(`restarting ${name}`);
          this.start(name, restarts + 1).then(resolve, reject);
        }, wait).unref();
      });
    });
  }

  /** SIGTERM to all, SIGKILL to any still there after the grace period. */
  async stopAll(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.procs.values()].map(({ child }) => stopChild(child, graceMs)));
    this.procs.clear();
  }
}

/**
 * SIGTERM a child (SIGCONT first, in case it is paused) and wait for it to exit; SIGKILL it if it is
 * still there after the grace period.
 */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGCONT');
    child.kill('SIGTERM');
  });
}
