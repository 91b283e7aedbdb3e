import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { callerApiKey } from '../../src/platform/security/credentials';
import type { Config } from '../../src/platform/config';
import { distDir } from '../../src/platform/paths';
import { Supervisor } from '../../src/processes/supervisor';
import { stackStatus } from '../stack/stack';
import type { Watched } from './procfs';
import { baselinePort } from './baseline-support';
import { OUTBOX_ROLES } from './outbox-choreography';
import { SYNC_ROLES } from './sync-chain';
import type { Target } from './load';

export const DESIGNS = ['shipshape', 'sync', 'outbox'] as const;
export type DesignName = (typeof DESIGNS)[number];

export const DESIGN_TITLES: Record<DesignName, string> = {
  shipshape: 'Shipshape',
  sync: 'synchronous chain',
  outbox: 'outbox choreography',
};

/** One design, running: where to POST orders, which processes to measure, how to stop it. */
export interface RunningDesign {
  target: Target;
  processes(): Record<string, Watched | undefined>;
  stop(): Promise<void>;
}

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
async function startShipshape(
  config: Config,
  env: NodeJS.ProcessEnv,
  logDir: string,
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
  const key = callerApiKey(config);
  return {
    target: {
      url: `http://127.0.0.1:${config.api.port}/orders`,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    },
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
  return {
    target: { url: `http://127.0.0.1:${baselinePort(config, front, roles)}/orders`, headers: {} },
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
): Promise<RunningDesign> {
  return name === 'shipshape'
    ? startShipshape(config, env, logDir)
    : startBaseline(config, env, logDir, name);
}
