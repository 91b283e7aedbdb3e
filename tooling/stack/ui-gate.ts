import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { distDir } from '../../src/platform/paths';
import { waitFor } from '../../src/platform/wait';
import { commandLine, isAlive, portAnswers, spawnDetached, stopPid, tailFile } from './process';

/**
 * The UI gate (src/platform/temporal/ui-gate.ts) in front of the local cluster's Temporal UI server,
 * as a detached process of its own like the cluster's servers: it takes the UI's port, and the UI
 * server listens on one only the gate uses.
 */

export interface UiGateOptions {
  /** Folder for its log and pid file (the UI server's). */
  dir: string;
  stackDir: string;
  port: number;
  /** The Temporal UI server. */
  upstream: string;
  log?: (line: string) => void;
}

const ENTRY = path.join(distDir, 'workers', 'ui-gate.js');
const paths = (dir: string) => ({
  logFile: path.join(dir, 'gate.log'),
  pidFile: path.join(dir, 'gate.pid'),
});

/** The gate's pid while it runs from `dir` (its command line names the folder). */
export function uiGatePid(dir: string): number | undefined {
  const { pidFile } = paths(dir);
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  return Number.isInteger(pid) && isAlive(pid) && commandLine(pid).includes(path.resolve(dir))
    ? pid
    : undefined;
}

export const uiGateLogFile = (dir: string): string => paths(dir).logFile;

export async function stopUiGate(dir: string): Promise<void> {
  await stopPid(uiGatePid(dir), 'the Temporal UI gate', 10_000);
}

/** Starts the gate unless it runs; returns once its port answers. */
export async function startUiGate(o: UiGateOptions): Promise<number> {
  const running = uiGatePid(o.dir);
  if (running !== undefined) return running;
  const p = paths(o.dir);
  mkdirSync(o.dir, { recursive: true });
  o.log?.(`starting the Temporal UI gate on http://127.0.0.1:${o.port} → ${o.upstream}`);
  const pid = spawnDetached(
    process.execPath,
    [ENTRY, '--', path.resolve(o.dir)],
    p.logFile,
    o.dir,
    {
      ...process.env,
      // The stack's own keys and settings, whatever the caller's environment says.
      SHIPSHAPE_STACK_DIR: o.stackDir,
      UI_GATE_PORT: String(o.port),
      TEMPORAL_UI_UPSTREAM: o.upstream,
      HOST: '127.0.0.1',
    },
  );
  writeFileSync(p.pidFile, String(pid));
  try {
    await waitFor(
      'the Temporal UI gate to answer',
      async () => {
        if (!isAlive(pid)) throw new Error('the Temporal UI gate exited');
        return portAnswers(o.port);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\n--- ${p.logFile} (tail) ---\n${tailFile(p.logFile)}`,
      {
        cause: err,
      },
    );
  }
  return pid;
}
