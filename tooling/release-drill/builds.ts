import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/platform/config';
import { bundleWorkflows, workflowBundlePath } from '../../src/platform/temporal/bundle';
import { versionOfBundle } from '../../src/platform/temporal/build-id';
import { stopChild } from '../../src/processes/supervisor';

/** One build of the drill: its workflow code, its version, and its worker process while it runs. */
export interface Build {
  label: 'A' | 'B' | 'C' | 'D';
  /** What the build is, in a progress line. */
  what: string;
  /** The bundle its worker runs; undefined: this checkout's own (build A). */
  bundlePath?: string;
  buildId: string;
  worker?: ChildProcess;
}

const CODE: Record<Exclude<Build['label'], 'A'>, { module: string; what: string }> = {
  B: { module: 'changed', what: 'a timer before the first step (does not replay A)' },
  C: { module: 'rolled-back', what: 'a longer timer (to be rolled back mid-ramp)' },
  D: { module: 'bad', what: 'fails every order after its first timer (a bad build)' },
};

/** The four builds: A is this checkout; B, C and D its workflow code changed, bundled into `dir`. */
export async function makeBuilds(config: Config, dir: string): Promise<Build[]> {
  mkdirSync(dir, { recursive: true });
  // The drill's builds derive their ids from their code, whatever the environment names.
  const derived: Config = {
    ...config,
    temporal: {
      ...config.temporal,
      versioning: { ...config.temporal.versioning, buildId: undefined },
    },
  };
  const builds: Build[] = [
    {
      label: 'A',
      what: 'this checkout',
      buildId: versionOfBundle(derived, await workflowBundlePath(false)).buildId,
    },
  ];
  for (const [label, { module, what }] of Object.entries(CODE)) {
    const bundlePath = path.join(dir, `build-${label}.js`);
    writeFileSync(bundlePath, await bundleWorkflows(require.resolve(`./builds/${module}`)));
    builds.push({
      label: label as Build['label'],
      what,
      bundlePath,
      buildId: versionOfBundle(derived, bundlePath).buildId,
    });
  }
  return builds;
}

/**
 * Starts the build's worker and resolves once it polls. `makeCurrent`: as a first release does (A);
 * off, the drill routes new orders to it.
 */
export function startWorker(
  config: Config,
  b: Build,
  logDir: string,
  makeCurrent: boolean,
): Promise<void> {
  mkdirSync(logDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHIPSHAPE_STACK_DIR: config.stack.dir,
    SHIPSHAPE_MAKE_CURRENT: makeCurrent ? 'on' : 'off',
    SHIPSHAPE_WORKER_VERSIONING: 'on',
  };
  // Its id comes from its code; its metrics stay off (the supervisor's processes hold those ports).
  delete env.SHIPSHAPE_BUILD_ID;
  delete env.METRICS_PORT;
  const child = fork(path.join(__dirname, 'build-worker.js'), b.bundlePath ? [b.bundlePath] : [], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const out = createWriteStream(path.join(logDir, `temporal-worker-${b.label}.log`), {
    flags: 'a',
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  b.worker = child;
  return new Promise((resolve, reject) => {
    child.on('message', (m: { ready?: string }) => {
      if (m?.ready) resolve();
    });
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `build ${b.label}'s worker exited (${signal ?? `code ${code}`}) before it was ready; see ${logDir}`,
        ),
      ),
    );
  });
}

/** Stops the build's worker (SIGTERM: it finishes its tasks in hand). */
export async function retireWorker(b: Build): Promise<void> {
  if (b.worker) await stopChild(b.worker, 15_000);
  b.worker = undefined;
}
