import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { distDir } from '../../src/platform/paths';

/**
 * The workflow the ceiling is measured with: an order's steps with no work in them, each step's
 * activity completed from another process by its task token, as the reply bridge completes an order's.
 */
export const CEILING_SHAPE = 'async-activity';

export interface EngineCeiling {
  /** The bench:engine shape measured (CEILING_SHAPE). */
  shape: string;
  /** Such workflows (5 steps, no work) the dev server and one worker finish per second. */
  perSec: number;
  /**
   * CPU ms per finished workflow of the processes that stand for an order's work: the Temporal server,
   * the worker and the replier (the services' and the bridge's part), not the load that starts them.
   */
  cpuMsPerWorkflow: number;
  /** Shipshape's maximum sustained orders/s in the same run, as a share of that. */
  shipshapeShare: number | null;
}

/**
 * The engine's ceiling measured in this run, after the designs: `bench:engine` for CEILING_SHAPE on
 * the dev server (the stack the designs ran on), as a child, its log in `logDir`.
 */
export async function engineCeiling(
  seconds: number,
  logDir: string,
  shipshapeMaxPerSec: number | undefined,
): Promise<EngineCeiling> {
  const out = path.join(logDir, 'engine-ceiling.json');
  const logFile = path.join(logDir, 'engine-ceiling.log');
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      path.join(distDir, 'tooling', 'bench', 'engine-floor', 'main.js'),
      '--temporal',
      'dev',
      '--shapes',
      CEILING_SHAPE,
      '--seconds',
      String(seconds),
      '--out',
      out,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the engine's ceiling could not be measured; see ${logFile}`);
  const figures = JSON.parse(readFileSync(out, 'utf8')) as {
    temporal: {
      dev: Record<
        string,
        { saturated: { perSec: number; cpuMsPerWorkflow: Record<string, number> } }
      >;
    };
  };
  const { perSec, cpuMsPerWorkflow } = figures.temporal.dev[CEILING_SHAPE]!.saturated;
  const work = Object.entries(cpuMsPerWorkflow).filter(([p]) => p !== 'load');
  return {
    shape: CEILING_SHAPE,
    perSec,
    cpuMsPerWorkflow: Math.round(work.reduce((s, [, ms]) => s + ms, 0) * 10) / 10,
    shipshapeShare:
      shipshapeMaxPerSec !== undefined && perSec > 0
        ? Math.round((shipshapeMaxPerSec / perSec) * 100) / 100
        : null,
  };
}
