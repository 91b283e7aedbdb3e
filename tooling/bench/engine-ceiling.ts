import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { distDir } from '../../src/platform/paths';

export interface EngineCeiling {
  /** Order-shaped workflows (5 steps, no work) the dev server and one worker finish per second. */
  orderShapedPerSec: number;
  /** Shipshape's maximum sustained orders/s in the same run, as a share of that. */
  shipshapeShare: number | null;
}

/**
 * The engine's ceiling measured in this run, after the designs: `bench:engine` for the order-shaped
 * workflow on the dev server (the stack the designs ran on), as a child, its log in `logDir`.
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
      'order-shaped',
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
    temporal: { dev: { 'order-shaped': { saturated: { perSec: number } } } };
  };
  const perSec = figures.temporal.dev['order-shaped'].saturated.perSec;
  return {
    orderShapedPerSec: perSec,
    shipshapeShare:
      shipshapeMaxPerSec !== undefined && perSec > 0
        ? Math.round((shipshapeMaxPerSec / perSec) * 100) / 100
        : null,
  };
}
