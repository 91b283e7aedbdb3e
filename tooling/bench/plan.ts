import { Command, Option } from 'commander';
import { InvalidArgumentError } from 'commander';
import { API_KEY_CHOICES } from './api-key';
import type { ApiKeyChoice } from './api-key';
import { DESIGNS, HARNESSES } from './designs';
import type { DesignName, HarnessKind } from './designs';
import { DEFAULT_OUTSIDE_CLIENT, OUTSIDE_CLIENTS } from './outside-client';
import type { OutsideClientKind } from './outside-client';
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
  /** `--steady`, `--burst-only`, `--stream`, `--api-ceiling` or `--sustained`: that one load (see Focus). */
  focus?: Focus;
  steadyMs: number;
  harness: HarnessKind;
  apiKey: ApiKeyChoice;
  /** The `node` that runs `shipshape run`; unset: the one `npm start` uses. */
  appNode?: string;
  /** After `--stream`'s warm stream, the same stream from an outside client, side by side. */
  outsideCheck: boolean;
  /** `--api-ceiling`: orders in each client count's load. */
  ceilingOrders: number;
  /** The outside client's HTTP client (outside-client.ts). */
  outsideClient: OutsideClientKind;
  /** Orders the outside client posts first and does not count. */
  outsideWarmUp: number;
}

/**
 * One focused load: `--steady <rate>` or `--burst-only` after a warm-up; `--stream` right after the
 * design starts and again after a warm-up.
 */
export type Focus =
  | { kind: 'steady'; rate: number }
  | { kind: 'burst' }
  | { kind: 'stream' }
  | { kind: 'api-ceiling'; clients: number[] }
  /** Shipshape's maximum sustained rate and the engine's ceiling, in turn, `runs` times. */
  | { kind: 'sustained'; runs: number };

/** `--outside-client`: the stream from an outside client against a `shipshape run` already running. */
export interface OutsideClientPlan {
  url: string | undefined;
  orders: number;
  clients: number;
  apiKey: ApiKeyChoice;
  /** Orders posted first and not counted. */
  warmUp: number;
  client: OutsideClientKind;
}

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
  orders?: number;
  streamClients: number;
  providerLatency: number;
  harness: HarnessKind;
  apiKey: ApiKeyChoice;
  appNode?: string;
  outsideCheck: boolean;
  apiCeiling?: boolean;
  ceilingClients: number[];
  outsideClient?: boolean;
  sustained?: boolean;
  runs: number;
  url?: string;
  warmUp?: number;
  httpClient: OutsideClientKind;
}

function planFrom(o: Options): Plan {
  const focuses = [
    o.steady !== undefined && '--steady',
    o.burstOnly && '--burst-only',
    o.stream && '--stream',
    o.apiCeiling && '--api-ceiling',
    o.outsideClient && '--outside-client',
    o.sustained && '--sustained',
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
    stream: { orders: o.orders ?? (quick ? 200 : 400), clients: o.streamClients },
    providerLatencyMs: o.providerLatency,
    slowFactor: 10,
    slowMs: quick ? 5000 : 15_000,
    drainTimeoutMs: quick ? 15_000 : 60_000,
    burstDrainTimeoutMs: quick ? 120_000 : 600_000,
    ...(o.steady !== undefined ? { focus: { kind: 'steady', rate: o.steady } as const } : {}),
    ...(o.burstOnly ? { focus: { kind: 'burst' } as const } : {}),
    ...(o.stream ? { focus: { kind: 'stream' } as const } : {}),
    ...(o.apiCeiling ? { focus: { kind: 'api-ceiling', clients: o.ceilingClients } as const } : {}),
    ...(o.sustained ? { focus: { kind: 'sustained', runs: o.runs } as const } : {}),
    steadyMs: o.seconds * 1000,
    harness: o.harness,
    apiKey: o.apiKey,
    ...(o.appNode ? { appNode: o.appNode } : {}),
    outsideCheck: o.outsideCheck,
    ceilingOrders: o.orders ?? (quick ? 500 : 2000),
    outsideClient: o.httpClient,
    outsideWarmUp: o.warmUp ?? o.streamClients,
  };
}

/** The command line, checked: a mistake is named in one line and exits 2, --help exits 0. */
export function parseOptions(argv: string[]): {
  plan: Plan;
  cpuProfiles: string | undefined;
  docsChart: boolean;
  outsideClient?: OutsideClientPlan;
} {
  const program = new Command('bench')
    .description(
      'Runs Shipshape, the synchronous chain and the outbox choreography one after another on the local bench stack ' +
        '(SHIPSHAPE_STACK_DIR, default .shipshape-bench; SHIPSHAPE_PORT_OFFSET, default 3500) and prints the figures. ' +
        'Writes tooling/bench/results/<timestamp>.json and .svg and copies the chart to docs/benchmarks.svg. ' +
        'Shipshape runs as a user starts it (`shipshape run` in a process of its own) and the HTTP load comes from a load process of its own; ' +
        'the conditions (Node versions, key, orders, warm-up, connections, nice values, load average) are printed and written with the figures.',
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
      "only the stream (--orders, default 400, from --stream-clients, default 16, each posting its next once answered): right after the design starts, then after a warm-up while the stack drains a backlog as large (posted first, every workflow of it started), with each process's CPU per order; for Shipshape then the same stream from an outside client under the same conditions, side by side",
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
    .addOption(
      new Option(
        '--harness <kind>',
        'user-run: Shipshape started as a user starts it (`shipshape run` in a process of its own, through the Node `npm start` uses) and the HTTP load from a separate load process; ' +
          'in-process: the harness before, the bench supervising the processes and generating the load in its own event loop (to compare the two)',
      )
        .choices(HARNESSES)
        .default('user-run'),
    )
    .addOption(
      new Option(
        '--orders <n>',
        'orders in the stream (default 400, 200 with --quick) and in each --api-ceiling load (default 2000, 500 with --quick)',
      ).argParser(positiveInt),
    )
    .addOption(
      new Option('--stream-clients <n>', 'concurrent clients in the stream')
        .argParser(positiveInt)
        .default(16),
    )
    .addOption(
      new Option('--provider-latency <ms>', "the fake providers' latency per call")
        .argParser(positiveInt)
        .default(20),
    )
    .addOption(
      new Option(
        '--api-key <kind>',
        "the local stack's key the load sends (SHIPSHAPE_CALLER_API_KEY, when set, wins)",
      )
        .choices(API_KEY_CHOICES)
        .default('client'),
    )
    .option(
      '--app-node <path>',
      'run `shipshape run` with this node (e.g. the one `npx shipshape run` finds first on PATH) instead of the one `npm start` uses',
    )
    .option(
      '--no-outside-check',
      "with --stream: do not post the same stream from an outside client after the bench's own",
    )
    .option(
      '--api-ceiling',
      'only POST /orders as fast as the API answers, with the API alone running (no worker, no service draining), for each of --ceiling-clients: answers/s and p50/p99 beside what the latency targets need',
    )
    .option(
      '--sustained',
      "only Shipshape's maximum sustained rate (the full run's warm-up and steps) and the engine's ceiling after it, in turn --runs times, each Shipshape run on a fresh stack: each pair's share and both sides' CPU per order, and the medians with the smallest and largest",
    )
    .addOption(
      new Option('--runs <n>', 'pairs of runs for --sustained').argParser(positiveInt).default(5),
    )
    .addOption(
      new Option('--ceiling-clients <list>', 'comma-separated client counts for --api-ceiling')
        .argParser(clientList)
        .default([16, 100, 200], '16,100,200'),
    )
    .option(
      '--outside-client',
      "only post the stream (--orders, --stream-clients) against a `shipshape run` already running, as an outside client, and print its accept latencies; starts nothing (--url; the key: SHIPSHAPE_CALLER_API_KEY, else --api-key of the stack's secrets)",
    )
    .addOption(
      new Option(
        '--warm-up <n>',
        "orders the outside client posts first from the same clients and does not count (--outside-client: default 0; --stream's check: default one a client)",
      ).argParser(nonNegativeInt),
    )
    .addOption(
      new Option(
        '--http-client <kind>',
        "the outside client's HTTP client (--outside-client, and --stream's check): http, the node:http client the bench's load process uses, in the outside process (like for like: the process and its moment are what differ); fetch, Node's own, which costs the client several times the CPU per request, on the cores the API shares",
      )
        .choices(OUTSIDE_CLIENTS)
        .default(DEFAULT_OUTSIDE_CLIENT),
    )
    .option(
      '--url <url>',
      "with --outside-client: where to POST orders (default: this stack's API, http://127.0.0.1:<port>/orders)",
    )
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
  if (o.outsideClient) {
    const outsideClient = {
      url: o.url,
      orders: plan.stream.orders,
      clients: plan.stream.clients,
      apiKey: o.apiKey,
      warmUp: o.warmUp ?? 0,
      client: o.httpClient,
    };
    return { plan, cpuProfiles: o.cpuProfiles, docsChart: o.docsChart, outsideClient };
  }
  if (o.url) return program.error('bench: --url goes with --outside-client', { exitCode: 2 });
  if (!o.sustained && program.getOptionValueSource('runs') === 'cli')
    return program.error('bench: --runs goes with --sustained', { exitCode: 2 });
  return { plan, cpuProfiles: o.cpuProfiles, docsChart: o.docsChart };
}

function nonNegativeInt(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`must be a whole number, got "${v}"`);
  return Number(v);
}

/** `--ceiling-clients 16,100,200`: whole numbers of at least 1. */
export function clientList(v: string): number[] {
  const list = v.split(',').map((c) => c.trim());
  const bad = list.filter((c) => !/^[1-9]\d*$/.test(c));
  if (!list.length || bad.length)
    throw new InvalidArgumentError(
      `must be whole numbers of at least 1, comma-separated, got "${v}"`,
    );
  return list.map(Number);
}
