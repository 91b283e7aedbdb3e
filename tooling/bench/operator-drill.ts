import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { ApiClient } from '../../src/client/api-client';
import { projectRoot } from '../../src/platform/paths';
import { callerApiKey } from '../../src/platform/security/credentials';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { waitFor } from '../../src/platform/wait';
import { inTurn } from '../../src/platform/in-turn';
import { workflowIdFor } from '../../workflows/definitions';
import { drillSupervisor, orderOf, place, slowProviders, unwhole } from './drill-orders';
import type { DrillOrders, Placed } from './drill-orders';
import { benchStackUp } from './bench-stack';
import { gitCommit, machine, progress } from './run-info';

const HELP = `npm run operator-drill -- [options]

What an operator's Temporal buttons cost an order, on the bench stack with every process of
\`shipshape run\` at its defaults (the reconciler's included) and providers that take --latency ms a
call: each of --terminates orders is terminated at a random step (the Temporal client, as the UI and
\`temporal workflow terminate\` call it) and timed from the close to every ledger holding (TERMINATED,
charge refunded, no live shipment, stock back, no points); completed orders are reset to their first
and to their last workflow task, and orders in flight to their first, each timed to completion beside
the same orders' fresh end-to-end time. Prints the figures, writes them to
tooling/bench/results/operator-drill-<time>.json, and ends with a line violations=N.

  --terminates <n>   orders terminated (default 50)
  --resets <n>       orders reset, of each kind (default 10)
  --latency <ms>     each provider call (default 150)
  --json             print the figures as JSON last
  --help             this text`;

interface Options {
  terminates: number;
  resets: number;
  latencyMs: number;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { terminates: 50, resets: 10, latencyMs: 150, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1)
        throw new UsageError(`${a} needs a whole number of 1 or more`);
      return n;
    };
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${HELP}\n`);
      process.exit(0);
    } else if (a === '--terminates') o.terminates = num();
    else if (a === '--resets') o.resets = num();
    else if (a === '--latency') o.latencyMs = num();
    else if (a === '--json') o.json = true;
    else throw new UsageError(`unknown option ${a}`);
  }
  return o;
}

class UsageError extends Error {}

const STEPS = [
  'RESERVING_INVENTORY',
  'CHARGING_PAYMENT',
  'AWARDING_POINTS',
  'CREATING_SHIPMENT',
  'FINALIZING',
] as const;

interface Drill extends DrillOrders {
  temporal: Client;
  violations: string[];
}

const order = orderOf;

/** Whether the order's ledgers hold: completed once, or undone wholly. */
const whole = async (d: Drill, o: Placed, completed: boolean) =>
  (await unwhole(d, o, completed)) === undefined;

type Ending = 'completed' | 'undone';

/**
 * Waits for the order's ledgers to hold as one of `endings`; which it ended as and when, or a
 * violation recorded with what still does not hold.
 */
async function timeToWhole(
  d: Drill,
  o: Placed,
  endings: Ending[],
  from: number,
): Promise<{ ms: number; as: Ending } | undefined> {
  try {
    const as = await waitFor(
      `order ${o.orderId} whole`,
      async () => {
        for (const e of endings) if (await whole(d, o, e === 'completed')) return e;
        return undefined;
      },
      { timeoutMs: 180_000, intervalMs: 100 },
    );
    return { ms: Date.now() - from, as };
  } catch (err) {
    // What still does not hold (or why it could not be read), so the violation says what to look at.
    const facts = await unwhole(d, o, endings[0] === 'completed').catch(
      (e: unknown) => (e as Error).message,
    );
    d.violations.push(
      `${o.orderId}: not whole 180 s after (${facts ?? (err as Error).message}), expected ${endings.join(' or ')}`,
    );
    return undefined;
  }
}

/** One order terminated at `step`; the time from the close to whole, or undefined when it finished first. */
async function terminateAt(d: Drill, step: (typeof STEPS)[number]): Promise<number | undefined> {
  const o = await place(d);
  const reached = await waitFor(
    `order ${o.orderId} at ${step}`,
    async () => {
      const s = (await order(d, o)).status;
      return s === step
        ? 'there'
        : STEPS.indexOf(s as (typeof STEPS)[number]) > STEPS.indexOf(step) || s === 'COMPLETED'
          ? 'past'
          : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  if (reached === 'past') return undefined;
  try {
    await d.temporal.workflow.getHandle(workflowIdFor(o.orderId)).terminate('operator drill');
  } catch {
    return undefined; // it completed meanwhile
  }
  const closedAt = Date.now();
  // The saga may have recorded COMPLETED just before the terminate closed its run (its last activity
  // writes the row, then the run ends): that order stays COMPLETED, whole as completed, and is no
  // terminate to time. Which of the two it was shows only once the row is read after the close.
  const ended = await timeToWhole(d, o, ['undone', 'completed'], closedAt);
  return ended?.as === 'undone' ? ended.ms : undefined;
}

async function resetTo(
  d: Drill,
  o: Placed,
  type: 'FirstWorkflowTask' | 'LastWorkflowTask',
): Promise<number | undefined> {
  const handle = d.temporal.workflow.getHandle(workflowIdFor(o.orderId));
  const { runId } = await handle.describe();
  const tasks = ((await handle.fetchHistory()).events ?? []).filter(
    (e) => e.workflowTaskCompletedEventAttributes,
  );
  const at = type === 'FirstWorkflowTask' ? tasks[0] : tasks[tasks.length - 1];
  const started = Date.now();
  await d.temporal.workflowService.resetWorkflowExecution({
    namespace: d.config.temporal.namespace,
    workflowExecution: { workflowId: workflowIdFor(o.orderId) },
    workflowTaskFinishEventId: at!.eventId,
    reason: `operator drill: ${type}`,
    requestId: `${o.orderId}:${type}`,
  });
  await waitFor(
    `a new run of ${o.orderId} to complete`,
    async () => {
      const now = await handle.describe();
      return now.runId !== runId && now.status.name === 'COMPLETED';
    },
    { timeoutMs: 180_000, intervalMs: 100 },
  ).catch(() => d.violations.push(`${o.orderId}: reset to ${type} did not complete`));
  return (await timeToWhole(d, o, ['completed'], started))?.ms;
}

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN;
}
const secs = (ms: number) => (ms / 1000).toFixed(1);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function main(argv: string[]): Promise<void> {
  const opts = parse(argv);
  const config = await benchStackUp(progress);
  const sup = drillSupervisor(config, 'operator-drill', progress);
  await sup.startAll();
  const temporal = await connectTemporalClient(config, 'cli');
  const d: Drill = {
    config,
    api: new ApiClient(`http://127.0.0.1:${config.api.port}`, callerApiKey(config)),
    temporal,
    runId: `drill${Date.now().toString(36)}`,
    seq: 0,
    violations: [],
  };
  try {
    await slowProviders(d, opts.latencyMs);

    progress(
      `terminating ${opts.terminates} orders at random steps (providers ${opts.latencyMs} ms a call)`,
    );
    const terminated: number[] = [];
    let tries = 0;
    while (terminated.length < opts.terminates && tries < opts.terminates * 4) {
      const batch = await inTurn(range(Math.min(5, opts.terminates - terminated.length)), 5, () => {
        tries++;
        return terminateAt(d, STEPS[tries % STEPS.length]!);
      });
      for (const t of batch) if (t !== undefined) terminated.push(t);
      progress(
        `  ${terminated.length} of ${opts.terminates} terminated and made whole; median ${secs(median(terminated))} s`,
      );
    }

    progress(`placing ${opts.resets * 2} orders to completion, for the resets of completed orders`);
    const fresh: { o: Placed; e2e: number }[] = await inTurn(
      range(opts.resets * 2),
      5,
      async () => {
        const o = await place(d);
        await waitFor(
          `order ${o.orderId} completed`,
          async () => (await order(d, o)).status === 'COMPLETED',
          { timeoutMs: 120_000, intervalMs: 50 },
        );
        return { o, e2e: Date.now() - o.placedAt };
      },
    );
    const first = (
      await inTurn(range(opts.resets), 3, (i) => resetTo(d, fresh[i]!.o, 'FirstWorkflowTask'))
    ).filter((x): x is number => x !== undefined);
    const last = (
      await inTurn(range(opts.resets), 3, (i) =>
        resetTo(d, fresh[opts.resets + i]!.o, 'LastWorkflowTask'),
      )
    ).filter((x): x is number => x !== undefined);

    progress(`resetting ${opts.resets} orders in flight to their first workflow task`);
    const inFlight = (
      await inTurn(range(opts.resets), 3, async () => {
        const o = await place(d);
        await waitFor(
          `order ${o.orderId} in flight`,
          async () => (await order(d, o)).status === 'AWARDING_POINTS' || undefined,
          { timeoutMs: 60_000, intervalMs: 20 },
        ).catch(() => undefined);
        return resetTo(d, o, 'FirstWorkflowTask');
      })
    ).filter((x): x is number => x !== undefined);

    const freshE2e = median(fresh.map((f) => f.e2e));
    const figures = {
      at: new Date().toISOString(),
      commit: gitCommit(),
      machine: machine(),
      providerLatencyMs: opts.latencyMs,
      terminate: {
        n: terminated.length,
        closeToWholeP50Ms: median(terminated),
        p99Ms: quantile(terminated, 0.99),
        maxMs: Math.max(...terminated),
      },
      freshEndToEndP50Ms: freshE2e,
      resetCompletedFirst: {
        n: first.length,
        p50Ms: median(first),
        ratioToFresh: median(first) / freshE2e,
      },
      resetCompletedLast: {
        n: last.length,
        p50Ms: median(last),
        ratioToFresh: median(last) / freshE2e,
      },
      resetInFlightFirst: {
        n: inFlight.length,
        p50Ms: median(inFlight),
        ratioToFresh: median(inFlight) / freshE2e,
      },
      violations: d.violations,
    };
    const lines = [
      `terminate → whole (n=${terminated.length}): p50 ${secs(figures.terminate.closeToWholeP50Ms)} s, p99 ${secs(figures.terminate.p99Ms)} s, max ${secs(figures.terminate.maxMs)} s`,
      `fresh order, placed → completed: p50 ${secs(freshE2e)} s`,
      `reset to FirstWorkflowTask, completed order (n=${first.length}): p50 ${secs(figures.resetCompletedFirst.p50Ms)} s (${figures.resetCompletedFirst.ratioToFresh.toFixed(2)}× fresh)`,
      `reset to LastWorkflowTask, completed order (n=${last.length}): p50 ${secs(figures.resetCompletedLast.p50Ms)} s (${figures.resetCompletedLast.ratioToFresh.toFixed(2)}× fresh)`,
      `reset to FirstWorkflowTask, order in flight (n=${inFlight.length}): p50 ${secs(figures.resetInFlightFirst.p50Ms)} s (${figures.resetInFlightFirst.ratioToFresh.toFixed(2)}× fresh)`,
    ];
    for (const l of lines) process.stdout.write(`${l}\n`);
    for (const v of d.violations) process.stdout.write(`violation: ${v}\n`);
    const dir = path.join(projectRoot, 'tooling', 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `operator-drill-${figures.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
    progress(`figures in ${path.relative(projectRoot, file)}`);
    if (opts.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
    process.stdout.write(`violations=${d.violations.length}\n`);
    if (d.violations.length) process.exitCode = 1;
  } finally {
    await temporal.connection.close();
    await sup.stopAll();
  }
}

main(process.argv.slice(2)).catch(async (err: unknown) => {
  process.stderr.write(
    `${err instanceof UsageError ? err.message : ((err as Error).stack ?? String(err))}\n`,
  );
  if (err instanceof UsageError) process.stderr.write(`\n${HELP}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
  await delay(0);
});
