import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/platform/config';
import { distDir } from '../../src/platform/paths';
import { Supervisor } from '../../src/processes/supervisor';
import { stackStatus } from '../stack/stack';
import type { Watched } from './procfs';
import { baselinePort } from './baseline-support';
import { OUTBOX_ROLES } from './outbox-choreography';
import { SYNC_ROLES } from './sync-chain';
import { Orders } from './load';
import type { OrderLoad, Target } from './load';
import type { LoadProcess } from './remote-load';
import { startUserRun } from './user-run';
import { apiKeyFor } from './api-key';
import type { ApiKeyChoice } from './api-key';

export const DESIGNS = ['shipshape', 'sync', 'outbox'] as const;
export type DesignName = (typeof DESIGNS)[number];

export const DESIGN_TITLES: Record<DesignName, string> = {
  shipshape: 'Shipshape',
  sync: 'synchronous chain',
  outbox: 'outbox choreography',
};

/**
 * How the bench runs a design and loads it. `user-run`: Shipshape as a user starts it (`shipshape run`
 * in a process of its own) and the load from the load process; `in-process`: the bench supervises
 * Shipshape's processes itself and generates the load in its own event loop (the harness before,
 * kept to compare the two).
 */
export const HARNESSES = ['user-run', 'in-process'] as const;
export type HarnessKind = (typeof HARNESSES)[number];

export interface Harness {
  kind: HarnessKind;
  /** The load process (`user-run`); the baselines are loaded from it too. */
  load?: LoadProcess;
  /** The `node` that runs `shipshape run`; default: the one `npm start` uses (the Node launcher). */
  appNode?: string;
  apiKey: ApiKeyChoice;
}

/** How the app was started and which Node runs it, for the run's conditions. */
export interface AppStart {
  command: string;
  node: string;
  nodePath?: string;
}

/** One design, running: where to POST orders, which processes to measure, how to stop it. */
export interface RunningDesign {
  target: Target;
  /** The API key sent, by kind (never the secret). */
  apiKey: string;
  app: AppStart;
  processes(): Record<string, Watched | undefined>;
  /** A load of orders against `target`, from the load process when the harness has one. */
  newLoad(prefix: string, query?: string): OrderLoad;
  stop(): Promise<void>;
}

const loadFor =
  (harness: Harness, target: Target) =>
  (prefix: string, query = ''): OrderLoad =>
    harness.load ? harness.load.orders(target, prefix, query) : new Orders(target, prefix, query);

/**
 * The stack's servers, measured with every design: they do its durable writes. On the Temporal cluster
 * (SHIPSHAPE_TEMPORAL=cluster) the `temporal` row is the forwarder in front of the nodes.
 */
async function serverProcesses(config: Config): Promise<Record<string, Watched>> {
  const out: Record<string, Watched> = {};
  const servers = await stackStatus(config);
  const cluster = servers.some((s) => s.name === 'temporal-1');
  for (const s of servers) {
    const name = cluster && s.name === 'temporal' ? 'forwarder' : s.name;
    if (s.pid !== null) out[name] = { pid: s.pid, withChildren: s.name === 'postgres' };
  }
  return out;
}

/** Shipshape as `shipshape run` starts it: every process of the app, fake providers included. */
async function startShipshapeInProcess(
  config: Config,
  env: NodeJS.ProcessEnv,
  logDir: string,
  harness: Harness,
): Promise<RunningDesign> {
  const sup = new Supervisor({
    config,
    env,
    log: (line) => process.stderr.write(`  shipshape: ${line}\n`),
    restart: false,
    // On a shared two-core machine eleven processes starting at once can take minutes.
    readyTimeoutMs: 300_000,
    execArgv: nodeArgs,
    logDir: path.join(logDir, 'shipshape'),
  });
  try {
    await sup.startAll();
  } catch (err) {
    await sup.stopAll();
    throw err;
  }
  const servers = await serverProcesses(config);
  const key = apiKeyFor(config, harness.apiKey);
  const target = {
    url: `http://127.0.0.1:${config.api.port}/orders`,
    headers: { authorization: `Bearer ${key.secret}` },
  };
  return {
    target,
    apiKey: key.kind,
    app: { command: 'Supervisor in the bench process', node: process.version },
    newLoad: loadFor(harness, target),
    processes: () => ({
      ...servers,
      ...Object.fromEntries(
        sup.names().map((n) => {
          const pid = sup.pidOf(n);
          return [n, pid ? { pid } : undefined];
        }),
      ),
    }),
    stop: () => sup.stopAll(),
  };
}

/**
 * Shipshape as a user starts it: `shipshape run` (through the Node launcher `npm start` uses) with the
 * bench stack's environment; its processes found by pid tree and named as the process table names them.
 */
async function startShipshapeAsUser(
  config: Config,
  env: NodeJS.ProcessEnv,
  logDir: string,
  harness: Harness,
): Promise<RunningDesign> {
  // `--cpu-profiles` reaches every Node of the run (the launcher's and the CLI's too) this way.
  const profiling = nodeArgs.length ? { NODE_OPTIONS: nodeArgs.join(' ') } : {};
  const run = await startUserRun(
    { ...env, ...profiling },
    path.join(logDir, 'shipshape'),
    harness.appNode,
  );
  const servers = await serverProcesses(config);
  const key = apiKeyFor(config, harness.apiKey);
  const target = {
    url: `http://127.0.0.1:${config.api.port}/orders`,
    headers: { authorization: `Bearer ${key.secret}` },
  };
  return {
    target,
    apiKey: key.kind,
    app: { command: run.command, node: run.node.version, nodePath: run.node.path },
    newLoad: loadFor(harness, target),
    processes: () => ({ ...servers, ...run.processes() }),
    stop: () => run.stop(),
  };
}

/** Node options for every design process: none, or those of `bench --cpu-profiles`. */
let nodeArgs: string[] = [];

/** `bench --cpu-profiles <dir>`: each design process started from now on writes a V8 CPU profile into `dir` when it stops. */
export function profileProcessesInto(dir: string): void {
  nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** Forks one process and waits for its "ready" message. */
export function forkReady(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  name: string,
): Promise<ChildProcess> {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = fork(file, args, {
    env: { ...process.env, ...env },
    execArgv: [...process.execArgv, ...nodeArgs],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} not ready in 60 s; see ${logFile}`)),
      60_000,
    );
    child.on('message', (m: { ready?: string }) => {
      if (m?.ready) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}; see ${logFile}`));
    });
  });
}

export async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const killer = setTimeout(() => c.kill('SIGKILL'), 10_000);
          c.removeAllListeners('exit');
          c.once('exit', () => {
            clearTimeout(killer);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** A baseline: the fake providers (Shipshape's own process), then its roles, each a process of its own. */
async function startBaseline(
  config: Config,
  env: NodeJS.ProcessEnv,
  logDir: string,
  design: 'sync' | 'outbox',
  harness: Harness,
) {
  const dir = path.join(logDir, design);
  mkdirSync(dir, { recursive: true });
  const children = new Map<string, ChildProcess>();
  const roles: readonly string[] = design === 'sync' ? SYNC_ROLES : OUTBOX_ROLES;
  const file = path.join(
    distDir,
    'tooling',
    'bench',
    design === 'sync' ? 'sync-chain.js' : 'outbox-choreography.js',
  );
  try {
    children.set(
      'fake-providers',
      await forkReady(
        path.join(distDir, 'workers', 'fake-providers.js'),
        [],
        env,
        path.join(dir, 'fake-providers.log'),
        'fake-providers',
      ),
    );
    // The front (the one that takes orders) last, once everything behind it answers.
    const front = design === 'sync' ? 'front' : 'api';
    const ordered = [...roles.filter((r) => r !== front), front];
    for (const role of ordered) {
      children.set(
        role,
        await forkReady(file, [role], env, path.join(dir, `${role}.log`), `${design} ${role}`),
      );
    }
  } catch (err) {
    await stopChildren([...children.values()]);
    throw err;
  }
  const servers = await serverProcesses(config);
  const front = design === 'sync' ? 'front' : 'api';
  const target = {
    url: `http://127.0.0.1:${baselinePort(config, front, roles)}/orders`,
    headers: {},
  };
  return {
    target,
    apiKey: 'none (the baselines take no key)',
    app: { command: `${design} roles forked by the bench`, node: process.version },
    newLoad: loadFor(harness, target),
    processes: () => ({
      ...servers,
      ...Object.fromEntries([...children].map(([n, c]) => [n, c.pid ? { pid: c.pid } : undefined])),
    }),
    stop: () => stopChildren([...children.values()]),
  } satisfies RunningDesign;
}

export function startDesign(
  name: DesignName,
  config: Config,
  env: NodeJS.ProcessEnv,
  logDir: string,
  harness: Harness,
): Promise<RunningDesign> {
  if (name !== 'shipshape') return startBaseline(config, env, logDir, name, harness);
  return harness.kind === 'user-run'
    ? startShipshapeAsUser(config, env, logDir, harness)
    : startShipshapeInProcess(config, env, logDir, harness);
}
