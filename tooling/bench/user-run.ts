import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';
import { stopChild } from '../../src/processes/supervisor';
import { alive, commandLine, findInTree, workerProcessesOf } from './proc-tree';
import type { Watched } from './procfs';

/**
 * Shipshape started as a user starts it: `shipshape run` in a process of its own, through the Node
 * launcher `npm start` uses (tooling/node/with-node.mjs --if-unsupported), or through the `node` the
 * bench is told to use (`--app-node`). Its processes are found by its pid tree and named by their
 * entry points, as the process table names them.
 */

export interface UserRun {
  /** `shipshape run`'s own pid (behind the launcher, when there is one). */
  runPid: number;
  /** The command line the bench started, as a user would type it. */
  command: string;
  /** The Node that runs the app: its path and version. */
  node: { path: string; version: string };
  /** The app's processes by name, found afresh when one of them has gone (a restart). */
  processes(): Record<string, Watched>;
  stop(): Promise<void>;
}

const READY = /Shipshape is running/;
const READY_TIMEOUT_MS = 300_000;

export async function startUserRun(
  env: NodeJS.ProcessEnv,
  logDir: string,
  appNode: string | undefined,
): Promise<UserRun> {
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'shipshape-run.log');
  const cli = path.join(projectRoot, 'bin', 'shipshape.js');
  const [command, args] = appNode
    ? [appNode, [cli, 'run']]
    : [
        process.execPath,
        [
          path.join(projectRoot, 'tooling', 'node', 'with-node.mjs'),
          '--if-unsupported',
          'node',
          cli,
          'run',
        ],
      ];
  const child = spawn(command, args, {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(logFile, { flags: 'a' });
  let seen = '';
  let ready = false;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`shipshape run not ready in ${READY_TIMEOUT_MS / 1000} s; see ${logFile}`),
        ),
      READY_TIMEOUT_MS,
    );
    const watch = (chunk: Buffer) => {
      out.write(chunk);
      // Only until it is ready: the rest goes to the log alone.
      if (ready) return;
      seen = (seen + chunk.toString()).slice(-4096);
      if (READY.test(seen)) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`shipshape run exited (${signal ?? `code ${code}`}); see ${logFile}`));
    });
  }).catch(async (err: unknown) => {
    await stopChild(child, 30_000);
    throw err;
  });
  // The CLI itself, `node …/bin/shipshape.js run`, not the launcher whose arguments name it too.
  const runPid = findInTree(
    child.pid!,
    (a) => /[\\/]bin[\\/]shipshape\.js$/.test(a[1] ?? '') && a[2] === 'run',
  );
  if (runPid === undefined) {
    await stopChild(child, 30_000);
    throw new Error("shipshape run is ready, but its process is not in the launcher's tree");
  }
  const nodePath = readlinkSync(`/proc/${runPid}/exe`);
  const version = execFileSync(nodePath, ['--version'], { encoding: 'utf8' }).trim();

  let known: Record<string, number> = {};
  return {
    runPid,
    command: [command, ...args]
      .map((a, i) =>
        i === 0 ? path.basename(a) : path.isAbsolute(a) ? path.relative(projectRoot, a) : a,
      )
      .join(' '),
    node: { path: nodePath, version },
    processes() {
      const pids = Object.values(known);
      if (!pids.length || !pids.every(alive)) known = workerProcessesOf(runPid);
      return Object.fromEntries(Object.entries(known).map(([n, pid]) => [n, { pid }]));
    },
    async stop() {
      // The launcher passes SIGTERM on; `shipshape run` then stops its processes as on Ctrl-C.
      await stopChild(child, 30_000);
      if (alive(runPid) && commandLine(runPid).length) {
        for (const pid of [...Object.values(workerProcessesOf(runPid)), runPid])
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
      }
      out.end();
    },
  };
}
