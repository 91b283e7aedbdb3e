import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { distDir } from '../../src/platform/paths';
import type { RunningDesign } from './designs';
import type { OutsideClientKind, OutsideFigures } from './outside-client';
import type { phaseFigures } from './phases';
import { textTable } from './run-info';

const run = promisify(execFile);

/** How far apart the bench's figures and an outside client's may be and still agree. */
export const AGREEMENT_FACTOR = 1.5;

/**
 * The stream from an outside client (outside-client.ts) against the running design: a process of its
 * own that shares nothing with the bench, started with the Node that runs the bench.
 */
export async function outsideStreamAgainst(
  running: RunningDesign,
  orders: number,
  clients: number,
  warmUp: number,
  client: OutsideClientKind,
  prefix: string,
): Promise<OutsideFigures> {
  const key = running.target.headers.authorization?.replace(/^Bearer /, '') ?? '';
  const { stdout } = await run(
    process.execPath,
    [
      path.join(distDir, 'tooling', 'bench', 'outside-client.js'),
      '--url',
      running.target.url,
      '--orders',
      String(orders),
      '--clients',
      String(clients),
      '--warm-up',
      String(warmUp),
      '--client',
      client,
      '--prefix',
      prefix,
      '--json',
    ],
    // The key in the environment, not on a command line anyone can read from /proc.
    { env: { ...process.env, SHIPSHAPE_CALLER_API_KEY: key }, timeout: 600_000 },
  );
  return JSON.parse(stdout) as OutsideFigures;
}

export interface Agreement {
  p50Ratio: number;
  p99Ratio: number;
  /** Both percentiles within AGREEMENT_FACTOR of each other, whichever is larger. */
  agree: boolean;
}

const ratio = (a: number | null, b: number) =>
  a === null || !a || !b ? NaN : Math.round((Math.max(a, b) / Math.min(a, b)) * 100) / 100;

/** The bench's stream beside the outside client's: the table, and whether they agree. */
export function sideBySide(
  bench: ReturnType<typeof phaseFigures>,
  outside: OutsideFigures,
): { table: string; agreement: Agreement } {
  const p50Ratio = ratio(bench.acceptP50Ms, outside.acceptP50Ms);
  const p99Ratio = ratio(bench.acceptP99Ms, outside.acceptP99Ms);
  const agree = p50Ratio <= AGREEMENT_FACTOR && p99Ratio <= AGREEMENT_FACTOR;
  const table = textTable(
    ['stream accept latency', 'bench', 'outside client', 'larger ÷ smaller'],
    [
      ['p50 (ms)', String(bench.acceptP50Ms), String(outside.acceptP50Ms), String(p50Ratio)],
      ['p99 (ms)', String(bench.acceptP99Ms), String(outside.acceptP99Ms), String(p99Ratio)],
      ['max (ms)', String(bench.acceptMaxMs), String(outside.acceptMaxMs), '-'],
      [
        'accepted',
        `${bench.accepted}/${bench.posted}`,
        `${outside.accepted}/${outside.orders}`,
        '-',
      ],
    ],
  );
  return { table, agreement: { p50Ratio, p99Ratio, agree } };
}
