import { Command, Option } from 'commander';
import { DESIGNS } from './designs';
import type { DesignName } from './designs';
import { positiveInt } from './run-info';

/** What a run of `npm run bench` does: its designs, steps, loads and timeouts. */
export interface Plan {
  quick: boolean;
  designs: DesignName[];
  rates: number[];
  stepMs: number;
  halfRateMs: number;
  burst: number;
  clients: number;
  /** The stream: orders posted by a few clients, each posting its next once answered. */
  stream: { orders: number; clients: number };
  providerLatencyMs: number;
  slowFactor: number;
  slowMs: number;
  drainTimeoutMs: number;
  burstDrainTimeoutMs: number;
  /** `--steady`, `--burst-only` or `--stream`: that one load, with each process's CPU per order. */
  focus?: Focus;
  steadyMs: number;
}

/**
 * One focused load: `--steady <rate>` or `--burst-only` after a warm-up; `--stream` right after the
 * design starts and again after a warm-up.
 */
export type Focus = { kind: 'steady'; rate: number } | { kind: 'burst' } | { kind: 'stream' };

/** The command line's options, as commander hands them over. */
interface Options {
  quick?: boolean;
  designs: string;
  burst?: number;
  clients: number;
  steady?: number;
  burstOnly?: boolean;
  stream?: boolean;
  seconds: number;
  cpuProfiles?: string;
  docsChart: boolean;
}

function planFrom(o: Options): Plan {
  const focuses = [
    o.steady !== undefined && '--steady',
    o.burstOnly && '--burst-only',
    o.stream && '--stream',
  ].filter(Boolean);
  if (focuses.length > 1) throw new Error(`${focuses.join(' and ')}: choose one`);
  const designs = o.designs.split(',').map((d) => d.trim());
  const unknown = designs.filter((d) => !(DESIGNS as readonly string[]).includes(d));
  if (unknown.length || !designs.length)
    throw new Error(
      `--designs: unknown design ${unknown.join(', ')}; choose from ${DESIGNS.join(', ')}`,
    );
  const quick = Boolean(o.quick);
  return {
    quick,
    designs: DESIGNS.filter((d) => designs.includes(d)),
    rates: quick
      ? [5, 10, 20, 40, 80, 160, 320]
      : [4, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 65, 80, 100, 130, 160, 210, 280, 360, 450],
    stepMs: quick ? 4000 : 12_000,
    halfRateMs: quick ? 6000 : 20_000,
    burst: o.burst ?? (quick ? 500 : 2000),
    clients: o.clients,
    stream: { orders: quick ? 200 : 400, clients: 16 },
    providerLatencyMs: 20,
    slowFactor: 10,
    slowMs: quick ? 5000 : 15_000,
    drainTimeoutMs: quick ? 15_000 : 60_000,
    burstDrainTimeoutMs: quick ? 120_000 : 600_000,
    ...(o.steady !== undefined ? { focus: { kind: 'steady', rate: o.steady } as const } : {}),
    ...(o.burstOnly ? { focus: { kind: 'burst' } as const } : {}),
    ...(o.stream ? { focus: { kind: 'stream' } as const } : {}),
    steadyMs: o.seconds * 1000,
  };
}

/** The command line, checked: a mistake is named in one line and exits 2, --help exits 0. */
export function parseOptions(argv: string[]): {
  plan: Plan;
  cpuProfiles: string | undefined;
  docsChart: boolean;
} {
  const program = new Command('bench')
    .description(
      'Runs Shipshape, the synchronous chain and the outbox choreography one after another on the local bench stack ' +
        '(SHIPSHAPE_STACK_DIR, default .shipshape-bench; SHIPSHAPE_PORT_OFFSET, default 3500) and prints the figures. ' +
        'Writes tooling/bench/results/<timestamp>.json and .svg and copies the chart to docs/benchmarks.svg.',
    )
    .option(
      '--quick',
      'short steps, short drain timeouts and a burst of 500: a check that everything works, not figures to quote',
    )
    .addOption(
      new Option('--designs <list>', 'comma-separated designs to run').default(DESIGNS.join(',')),
    )
    .addOption(
      new Option('--burst <n>', 'orders in the burst (default 2000, 500 with --quick)').argParser(
        positiveInt,
      ),
    )
    .addOption(
      new Option('--clients <n>', 'concurrent clients in the burst')
        .argParser(positiveInt)
        .default(200),
    )
    .addOption(
      new Option(
        '--steady <rate>',
        "only a steady load at <rate> orders/s after a warm-up, with each process's CPU per order (where the time goes)",
      ).argParser(positiveInt),
    )
    .option(
      '--burst-only',
      "only the burst (--burst, --clients) after a warm-up, with each process's CPU per order",
    )
    .option(
      '--stream',
      "only the stream (400 orders from 16 clients, each posting its next once answered, while the stack drains them): right after the design starts, then after a warm-up, with each process's CPU per order",
    )
    .addOption(
      new Option('--seconds <n>', 'how long the --steady load lasts')
        .argParser(positiveInt)
        .default(30),
    )
    .option(
      '--cpu-profiles <dir>',
      "each design process writes a V8 CPU profile (.cpuprofile, for Chrome's DevTools) into <dir> when it stops",
    )
    .option('--no-docs-chart', 'do not copy the chart to docs/benchmarks.svg')
    .showHelpAfterError()
    // A usage mistake exits with 2, like the shipshape CLI's; --help with 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse(argv);
  const o = program.opts<Options>();
  let plan: Plan;
  try {
    plan = planFrom(o);
  } catch (err) {
    // A mistake in the options: say which, without a stack trace.
    return program.error(`bench: ${(err as Error).message}`, { exitCode: 2 });
  }
  return { plan, cpuProfiles: o.cpuProfiles, docsChart: o.docsChart };
}
