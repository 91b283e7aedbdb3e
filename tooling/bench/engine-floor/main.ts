import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Command, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { TEMPORAL_MODES, temporalModeNamed } from '../../../src/platform/config';
import type { Config, TemporalMode } from '../../../src/platform/config';
import { projectRoot } from '../../../src/platform/paths';
import { stackStatus } from '../../stack/stack';
import { connectTemporalClient } from '../../../src/platform/temporal/client';
import { benchStackUp } from '../bench-stack';
import { forkReady, stopChildren } from '../designs';
import { percentile } from '../load';
import { ProcessSampler } from '../procfs';
import type { Watched } from '../procfs';
import { gitCommit, machine, positiveInt, progress, textTable } from '../run-info';
import { historyFigures } from '../temporal-figures';
import type { WorkflowFigures } from '../temporal-figures';
import { FLOOR_TASK_QUEUE } from './worker';
import { closedLoop } from './closed-loop';
import { REPLIER_SOCKET_ENV } from './replier-link';
import {
  ADOPTION_RATIO,
  BASELINE_SHAPE,
  DELIVERY_SHAPES,
  SHAPES,
  ratiosToBaseline,
  shapeTitle,
  workflowOf,
} from './shapes';
import type { Shape } from './shapes';

/**
 * `npm run bench:engine`: how many workflows per second Temporal and one worker finish on this machine
 * when the workflows do nothing but Temporal's part of an order — its ceiling for any design built on
 * one workflow per order, and the latency an order cannot go below — on the dev server (SQLite, one
 * history shard) and on the two-node cluster (PostgreSQL, four shards), one after the other in one run.
 * The delivery shapes (./shapes.ts) measure, side by side, the ways a step's reply could reach an
 * order's workflow, each answered by the replier (./replier.ts), a process of its own.
 */

interface Plan {
  steps: number;
  concurrency: number;
  seconds: number;
  unloadedSeconds: number;
  shapes: Shape[];
  temporal: TemporalMode[];
}

interface Phase {
  workflows: number;
  perSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** A shape's two phases, and the figures of one of its workflows (`historyFigures`). */
type ShapeResult = Omit<WorkflowFigures, 'sampled'> & {
  unloaded: Phase;
  saturated: Phase & {
    concurrency: number;
    cpuMsPerWorkflow: Record<string, number>;
    peakRssMb: Record<string, number>;
  };
};

function phase(latencies: number[], elapsedMs: number): Phase {
  return {
    workflows: latencies.length,
    perSec: Math.round((latencies.length / elapsedMs) * 10000) / 10,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
  };
}

/**
 * The processes whose CPU counts, besides the worker and the load: the dev server, or the cluster's
 * nodes and its forwarder; and PostgreSQL with its backends (the cluster's store; idle beside the dev
 * server, which keeps its own SQLite file).
 */
async function serverProcesses(config: Config): Promise<Record<string, Watched>> {
  const out: Record<string, Watched> = {};
  const cluster = (await stackStatus(config)).some((s) => s.name === 'temporal-1');
  for (const s of await stackStatus(config)) {
    if (s.pid === null) continue;
    if (s.name === 'temporal') out[cluster ? 'forwarder' : 'temporal'] = { pid: s.pid };
    else if (/^temporal-\d+$/.test(s.name)) out[s.name] = { pid: s.pid };
    else if (s.name === 'postgres') out.postgres = { pid: s.pid, withChildren: true };
  }
  return out;
}

/** How long the saturated phase takes to start all its callers. */
const RAMP_SECONDS = 5;

/** The bench's own processes: the worker, and the replier when a delivery shape is measured. */
interface Forked {
  worker: ChildProcess;
  replier?: ChildProcess;
}

/**
 * The replier first when a delivery shape is measured (the worker's activities connect to its socket),
 * then the worker; the replier stopped again if the worker does not start.
 */
async function forkBench(
  config: Config,
  plan: Plan,
  logFile: (name: string) => string,
): Promise<Forked> {
  const env: NodeJS.ProcessEnv = { SHIPSHAPE_STACK_DIR: config.stack.dir };
  let replier: ChildProcess | undefined;
  if (plan.shapes.some((s) => DELIVERY_SHAPES.includes(s))) {
    env[REPLIER_SOCKET_ENV] = path.join(os.tmpdir(), `engine-floor-replier-${process.pid}.sock`);
    replier = await forkReady(
      require.resolve('./replier'),
      [],
      env,
      logFile('replier'),
      'the engine-floor replier',
    );
  }
  try {
    const worker = await forkReady(
      require.resolve('./worker'),
      [],
      env,
      logFile('worker'),
      'the engine-floor worker',
    );
    return { worker, replier };
  } catch (err) {
    if (replier) await stopChildren([replier]);
    throw err;
  }
}

async function measureShape(
  shape: Shape,
  plan: Plan,
  config: Config,
  client: Client,
  forked: Forked,
): Promise<ShapeResult> {
  const runId = Date.now().toString(36);
  const workflowId = (n: number) => `floor-${shape}-${runId}-${n}`;
  const [type, args] = workflowOf(shape, plan.steps);
  let offset = 0;
  const run = (n: number) =>
    client.workflow.execute(type, {
      taskQueue: FLOOR_TASK_QUEUE,
      workflowId: workflowId(offset + n),
      args,
    });

  progress(`${shape}: one at a time for ${plan.unloadedSeconds} s (the latency floor)`);
  const one = await closedLoop(run, 1, 0, plan.unloadedSeconds * 1000);
  offset = 1_000_000;

  const servers = await serverProcesses(config);
  const sampler = new ProcessSampler(() => ({
    ...servers,
    worker: { pid: forked.worker.pid! },
    ...(forked.replier ? { replier: { pid: forked.replier.pid! } } : {}),
    load: { pid: process.pid },
  }));
  progress(
    `${shape}: ${plan.concurrency} at a time, started over ${RAMP_SECONDS} s; measured for ${plan.seconds} s once ${plan.concurrency} have finished`,
  );
  const saturated = await closedLoop(
    run,
    plan.concurrency,
    RAMP_SECONDS * 1000,
    plan.seconds * 1000,
    { opened: () => sampler.start(), closed: () => sampler.stop() },
  );
  const figures = sampler.figures();
  const done = saturated.latencies.length;
  const result: ShapeResult = {
    unloaded: phase(one.latencies, one.elapsedMs),
    saturated: {
      ...phase(saturated.latencies, saturated.elapsedMs),
      concurrency: plan.concurrency,
      cpuMsPerWorkflow: Object.fromEntries(
        Object.entries(figures).map(([k, f]) => [k, Math.round((f.cpuMs / done) * 10) / 10]),
      ),
      peakRssMb: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, f.peakRssMb])),
    },
    ...(await historyFigures(client, config.temporal.namespace, workflowId(1_000_000))),
  };
  progress(
    `${shape}: ${result.saturated.perSec}/s at ${plan.concurrency} in flight; one at a time p50 ${result.unloaded.latencyP50Ms} ms`,
  );
  return result;
}

type Results = Partial<Record<TemporalMode, Partial<Record<Shape, ShapeResult>>>>;

/** CPU ms per workflow of the Temporal server processes: the dev server, or every node. */
const serverCpu = (r: ShapeResult) =>
  Object.entries(r.saturated.cpuMsPerWorkflow)
    .filter(([k]) => /^temporal(-\d+)?$/.test(k))
    .map(([, v]) => v);
const sum = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) * 10) / 10;

function table(results: Results, plan: Plan): string {
  const cpu = (r: ShapeResult, k: string) => r.saturated.cpuMsPerWorkflow[k] ?? '–';
  const rows: [string, (r: ShapeResult) => string | number][] = [
    [
      'workflows (orders)/s, saturated',
      (r) => `${r.saturated.perSec} (${plan.concurrency} in flight)`,
    ],
    [
      'CPU ms per workflow: Temporal (per node) / PostgreSQL',
      (r) => {
        const nodes = serverCpu(r);
        return `${sum(nodes)}${nodes.length > 1 ? ` (${nodes.join(' + ')})` : ''} / ${cpu(r, 'postgres')}`;
      },
    ],
    [
      'CPU ms per workflow: forwarder / worker / replier / load',
      (r) =>
        `${cpu(r, 'forwarder')} / ${cpu(r, 'worker')} / ${cpu(r, 'replier')} / ${cpu(r, 'load')}`,
    ],
    [
      'latency p50 / p99, one at a time (ms)',
      (r) => `${r.unloaded.latencyP50Ms} / ${r.unloaded.latencyP99Ms}`,
    ],
    [
      'latency p50 / p99, saturated (ms)',
      (r) => `${r.saturated.latencyP50Ms} / ${r.saturated.latencyP99Ms}`,
    ],
    [
      'state transitions / events / workflow tasks',
      (r) => `${r.stateTransitions} / ${r.historyEvents} / ${r.workflowTasks}`,
    ],
  ];
  const columns = plan.temporal.flatMap((mode) =>
    plan.shapes.filter((s) => results[mode]?.[s]).map((shape) => ({ mode, shape })),
  );
  const head = [
    '',
    ...columns.map(({ mode, shape }) => `${mode}: ${shapeTitle(shape, plan.steps)}`),
  ];
  return textTable(
    head,
    rows.map(([label, f]) => [
      label,
      ...columns.map(({ mode, shape }) => String(f(results[mode]![shape]!))),
    ]),
  );
}

/** Each mode's workflows/s per shape as a multiple of async-activity's. */
function ratios(results: Results): Partial<Record<TemporalMode, Partial<Record<Shape, number>>>> {
  return Object.fromEntries(
    Object.entries(results).map(([mode, byShape]) => [
      mode,
      ratiosToBaseline(
        Object.fromEntries(Object.entries(byShape).map(([s, r]) => [s, r.saturated.perSec])),
      ),
    ]),
  );
}

/** One line per shape and mode: its ceiling against Shipshape's delivery shape, and the rule. */
function ratioLines(results: Results): string[] {
  return Object.entries(ratios(results)).flatMap(([mode, byShape]) =>
    Object.entries(byShape).map(
      ([shape, x]) =>
        `${mode}: ${shape} ${x.toFixed(2)}× ${BASELINE_SHAPE}'s orders/s` +
        (DELIVERY_SHAPES.includes(shape as Shape)
          ? ` (adopted only at ≥${ADOPTION_RATIO}× with every guarantee kept)`
          : ' (a synchronous activity: no service replies this way)'),
    ),
  );
}

function planFrom(o: {
  steps: number;
  concurrency: number;
  seconds: number;
  shapes: string;
  temporal: string;
  quick?: boolean;
}): Plan {
  const shapes = o.shapes.split(',').map((s) => s.trim());
  for (const s of shapes) {
    if (!(SHAPES as readonly string[]).includes(s))
      throw new Error(`--shapes: unknown shape ${s}; choose from ${SHAPES.join(', ')}`);
  }
  const temporal = o.temporal.split(',').map((m) => {
    const mode = temporalModeNamed(m.trim());
    if (!mode)
      throw new Error(
        `--temporal: unknown mode ${m.trim()}; choose from ${TEMPORAL_MODES.join(', ')}`,
      );
    return mode;
  });
  return {
    temporal: [...new Set(temporal)],
    steps: o.steps,
    concurrency: o.concurrency,
    seconds: o.quick ? 5 : o.seconds,
    unloadedSeconds: o.quick ? 3 : 10,
    shapes: shapes as Shape[],
  };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('bench:engine')
    .description(
      "Measures Temporal's ceiling on this machine, on the dev server and on the two-node cluster one after the " +
        "other: workflows that do nothing but Temporal's part of an order, run by one worker with Shipshape's " +
        'settings on the bench stack (its Temporal restarted empty for each). The delivery shapes ' +
        "(async-activity, Shipshape's; update; signal-local) take each step's reply from a replier process " +
        "standing for the service and the reply bridge. Prints a table, each shape's orders/s against " +
        "async-activity's, and writes tooling/bench/results/<timestamp>-engine.json.",
    )
    .addOption(
      new Option(
        '--temporal <modes>',
        `comma-separated, measured in this order: ${TEMPORAL_MODES.join(', ')}`,
      ).default(TEMPORAL_MODES.join(',')),
    )
    .addOption(
      new Option(
        '--shapes <list>',
        `comma-separated workflow shapes: ${SHAPES.join(', ')}`,
      ).default(SHAPES.join(',')),
    )
    .addOption(
      new Option('--steps <n>', "steps per workflow, but start-and-complete's (Shipshape's: 5)")
        .argParser(positiveInt)
        .default(5),
    )
    .addOption(
      new Option('--concurrency <n>', 'workflows in flight while saturated')
        .argParser(positiveInt)
        .default(100),
    )
    .addOption(
      new Option('--seconds <n>', 'how long each shape runs saturated')
        .argParser(positiveInt)
        .default(20),
    )
    .option('--quick', 'five seconds per shape: a check that it works, not figures to quote')
    .option('--out <file>', 'write the figures to <file> instead of tooling/bench/results/')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse(argv);
  let plan: Plan;
  try {
    plan = planFrom(program.opts());
  } catch (err) {
    return program.error(`bench:engine: ${(err as Error).message}`, { exitCode: 2 });
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(projectRoot, 'tooling', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const { out: outFile } = program.opts<{ out?: string }>();
  const file = outFile ? path.resolve(outFile) : path.join(resultsDir, `${stamp}-engine.json`);
  const results: Results = {};
  for (const mode of plan.temporal) {
    progress(`Temporal as ${mode === 'dev' ? 'the dev server' : 'a two-node cluster'}`);
    const config = await benchStackUp(progress, mode);
    const logDir = path.join(config.stack.dir, 'bench-logs', stamp);
    mkdirSync(logDir, { recursive: true });
    const forked = await forkBench(config, plan, (name) =>
      path.join(logDir, `engine-floor-${name}-${mode}.log`),
    );
    const client = await connectTemporalClient(config, 'cli');
    const byShape: Partial<Record<Shape, ShapeResult>> = (results[mode] = {});
    try {
      for (const shape of plan.shapes) {
        byShape[shape] = await measureShape(shape, plan, config, client, forked);
        const out = {
          temporal: results,
          ratiosToAsyncActivity: ratios(results),
          machine: machine(),
          commit: gitCommit(),
          plan,
        };
        writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
      }
    } finally {
      await client.connection.close();
      await stopChildren([forked.worker, ...(forked.replier ? [forked.replier] : [])]);
    }
  }
  process.stdout.write(table(results, plan) + '\n');
  for (const line of ratioLines(results)) process.stdout.write(line + '\n');
  progress(`figures: ${path.relative(process.cwd(), file)}`);
}

main(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:engine: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
