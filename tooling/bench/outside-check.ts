import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { distDir } from '../../src/platform/paths';
import type { Target } from './load';
import type { OutsideClientKind, OutsideFigures } from './outside-client';
import type { phaseFigures } from './phases';
import { textTable } from './run-info';

/** How far apart the bench's figures and an outside client's may be and still agree. */
export const AGREEMENT_FACTOR = 1.5;

/** An outside client started and warmed up, waiting for the moment to post its measured stream. */
export interface WaitingOutsideClient {
  /** Posts the measured stream now; its figures once it is over. */
  go(): Promise<OutsideFigures>;
  /** Stops the client if it never got to go. */
  stop(): void;
}

/**
 * The stream from an outside client (outside-client.ts) against the running design: a process of its
 * own that shares nothing with the bench, started with the Node that runs the bench. Resolves once the
 * client has started and posted its warm-up; its measured stream waits for `go()`, so that it can start
 * at the same moment of a backlog's drain as the bench's own stream did.
 */
export async function startOutsideStream(
  target: Target,
  orders: number,
  clients: number,
  warmUp: number,
  client: OutsideClientKind,
  prefix: string,
): Promise<WaitingOutsideClient> {
  const key = target.headers.authorization?.replace(/^Bearer /, '') ?? '';
  const child = spawn(
    process.execPath,
    [
      path.join(distDir, 'tooling', 'bench', 'outside-client.js'),
      '--url',
      target.url,
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
      '--go-on-stdin',
    ],
    // The key in the environment, not on a command line anyone can read from /proc.
    {
      env: { ...process.env, SHIPSHAPE_CALLER_API_KEY: key },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  /** The client's next line on stdout; it is stopped if none comes within `timeoutMs`. */
  const nextLine = async (what: string, timeoutMs: number): Promise<string> => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill();
    }, timeoutMs);
    try {
      const next: IteratorResult<string, undefined> = await lines.next();
      if (next.done)
        throw new Error(
          `the outside client ${timedOut ? `gave no ${what} in ${timeoutMs / 1000} s` : `ended before its ${what}`}`,
        );
      return next.value;
    } finally {
      clearTimeout(timer);
    }
  };
  const ready = await nextLine('ready after its warm-up', 120_000);
  if (ready !== 'ready') {
    child.kill();
    throw new Error(`the outside client said ${ready} instead of ready`);
  }
  return {
    async go() {
      child.stdin.end('go\n');
      const figures = await nextLine('figures', 600_000);
      return JSON.parse(figures) as OutsideFigures;
    },
    stop() {
      child.kill();
    },
  };
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
        "client's CPU ms per order",
        String(bench.clientCost?.cpuMsPerOrder ?? '-'),
        String(outside.clientCost.cpuMsPerOrder),
        '-',
      ],
      [
        "client's event loop busy",
        String(bench.clientCost?.eventLoopUtilization ?? '-'),
        String(outside.clientCost.eventLoopUtilization),
        '-',
      ],
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
