import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiClient } from '../../src/client/api-client';
import { inTurn } from '../../src/platform/in-turn';
import { projectRoot } from '../../src/platform/paths';
import { callerApiKey } from '../../src/platform/security/credentials';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { waitFor } from '../../src/platform/wait';
import { processesToRun } from '../../src/processes/supervisor';
import { benchStackUp } from '../bench/bench-stack';
import { drillSupervisor, ledgersOf, slowProviders, unwhole } from '../bench/drill-orders';
import { began, gitCommit, machine, progress, textTable } from '../bench/run-info';
import { temporalBinary } from '../stack/binaries';
import { makeBuilds, retireWorker, startWorker } from './builds';
import {
  build,
  drainAndRetire,
  placeDuringRamp,
  placeOrders,
  refresh,
  routedAs,
  where,
} from './drill';
import type { Drill } from './drill';
import { HELP, parseOptions, RELEASE_DRILL_PORT_OFFSET, UsageError } from './options';
import type { Options } from './options';
import { makeCurrent, pinTo, pollsLike, ramp, runVersion } from './routing';
import { tally, tallyRows } from './tally';

/**
 * Temporal checks a version that no longer takes new workflows for pinned runs only after a grace
 * period, then at an interval (3 minutes each by default): shortened, a drill's drainage shows in
 * seconds. The dev server takes them as flags, the cluster's nodes in their dynamic config file.
 */
const DRAINAGE_CONFIG = {
  'matching.wv.VersionDrainageStatusVisibilityGracePeriod': '5s',
  'matching.wv.VersionDrainageStatusRefreshInterval': '2s',
};

async function release(d: Drill, o: Options, logDir: string): Promise<void> {
  progress(`phase release: ${o.orders} orders held open on build A`);
  const held = await placeOrders(d, 'release', o.orders);
  progress(`  placed: ${where(held)}`);
  const B = build(d, 'B');
  await startWorker(d.config, B, logDir, false);
  await pollsLike(d.routing, B.buildId, build(d, 'A').buildId);
  progress(`  build B's worker polls (${B.buildId}: ${B.what}); new orders still start on A`);
  await ramp(d.routing, B.buildId, 10);
  await routedAs(d, 'A', { label: 'B', percent: 10 });
  progress('  B ramps at 10 %');
  progress(
    `  placed during the ramp: ${where(await placeDuringRamp(d, 'release', o.perStep, 'B'))}`,
  );
  await makeCurrent(d.routing, B.buildId);
  await routedAs(d, 'B');
  progress('  B is current (100 %); A drains');
  const after = await placeOrders(d, 'release', o.perStep);
  progress(`  placed with B current: ${where(after)}`);
  for (const t of after.filter((t) => t.startedOn !== 'B'))
    d.violations.push(`${t.orderId} started on ${t.startedOn} with B current`);
  await drainAndRetire(d, build(d, 'A'));
}

async function rollback(d: Drill, o: Options, logDir: string): Promise<void> {
  const C = build(d, 'C');
  progress(`phase rollback: build C (${C.buildId}: ${C.what})`);
  await startWorker(d.config, C, logDir, false);
  await pollsLike(d.routing, C.buildId, build(d, 'B').buildId);
  await ramp(d.routing, C.buildId, 10);
  await routedAs(d, 'B', { label: 'C', percent: 10 });
  progress('  C ramps at 10 %');
  progress(
    `  placed during the ramp: ${where(await placeDuringRamp(d, 'rollback', o.perStep, 'C'))}`,
  );
  await ramp(d.routing, undefined);
  await routedAs(d, 'B');
  progress("  rolled back: C's ramp taken away, every new order starts on B; C's own finish on C");
  const after = await placeOrders(d, 'rollback', o.perStep);
  progress(`  placed after the rollback: ${where(after)}`);
  for (const t of after.filter((t) => t.startedOn !== 'B'))
    d.violations.push(`${t.orderId} started on ${t.startedOn} after the rollback to B`);
  await drainAndRetire(d, C);
}

const count = (n: number) => `${n} order${n === 1 ? '' : 's'}`;

async function recovery(d: Drill, o: Options, logDir: string): Promise<void> {
  const [B, D] = [build(d, 'B'), build(d, 'D')];
  progress(`phase recovery: build D (${D.buildId}: ${D.what})`);
  await startWorker(d.config, D, logDir, false);
  await pollsLike(d.routing, D.buildId, B.buildId);
  await ramp(d.routing, D.buildId, 10);
  await routedAs(d, 'B', { label: 'D', percent: 10 });
  progress('  D ramps at 10 %');
  // A few stuck orders, so that moving them is seen to work for more than one.
  const placed = await placeDuringRamp(d, 'recovery', o.perStep, 'D', 3);
  progress(`  placed during the ramp: ${where(placed)}`);
  const bad = placed.filter((t) => t.startedOn === 'D');
  await waitFor(
    "D's orders to fail their workflow tasks",
    async () =>
      (await Promise.all(bad.map((t) => runVersion(d.routing, t.orderId)))).every(
        (v) => v.taskAttempt > 1,
      ),
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  progress(`  ${count(bad.length)} stuck on D: workflow tasks fail on every attempt`);
  await ramp(d.routing, undefined);
  await routedAs(d, 'B');
  progress("  rolled back: D's ramp taken away");
  const commands = await inTurn(bad, 4, async (t) => {
    const command = await pinTo(d.routing, t.orderId, B.buildId);
    t.movedTo = 'B';
    return command;
  });
  if (commands[0]) progress(`  ${count(bad.length)} pinned to B, each with\n    ${commands[0]}`);
  await drainAndRetire(d, D);
}

async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  if (opts.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  process.env.SHIPSHAPE_STACK_DIR ??= '.shipshape-release-drill';
  process.env.SHIPSHAPE_PORT_OFFSET ??= String(RELEASE_DRILL_PORT_OFFSET);
  const config = await benchStackUp(progress, opts.temporal, {
    temporalDynamicConfig: DRAINAGE_CONFIG,
  });
  progress(
    `${opts.temporal === 'dev' ? 'the dev server runs' : "the cluster's nodes run"} with ${Object.entries(
      DRAINAGE_CONFIG,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(' and ')} (Temporal's defaults: 3 min), so a version's drainage shows within seconds`,
  );
  const logDir = path.join(config.stack.dir, 'logs', 'release-drill');
  const sup = drillSupervisor(
    config,
    'release-drill',
    progress,
    processesToRun(config).filter((n) => n !== 'temporal-worker'),
  );
  const temporal = await connectTemporalClient(config, 'cli');
  const d: Drill = {
    config,
    api: new ApiClient(`http://127.0.0.1:${config.api.port}`, callerApiKey(config)),
    runId: `rel${Date.now().toString(36)}`,
    seq: 0,
    routing: {
      config,
      temporal,
      temporalBin: await temporalBinary(config.stack.binCacheDir, progress),
    },
    builds: await makeBuilds(config, path.join(config.stack.dir, 'release-drill')),
    orders: [],
    drainage: [],
    violations: [],
    began,
  };
  try {
    mkdirSync(logDir, { recursive: true });
    await sup.startAll();
    const A = build(d, 'A');
    await startWorker(config, A, logDir, true);
    await routedAs(d, 'A');
    progress(`build A (${A.buildId}, ${A.what}) is current; every process runs`);
    await slowProviders(d, opts.latencyMs);
    progress(`providers take ${opts.latencyMs} ms a call`);
    await release(d, opts, logDir);
    await rollback(d, opts, logDir);
    await recovery(d, opts, logDir);
    await report(d, opts);
  } finally {
    for (const b of d.builds) await retireWorker(b);
    await temporal.connection.close();
    await sup.stopAll();
  }
}

/** Waits for every order to close, checks each one's ledgers and where it ran, and prints the figures. */
async function report(d: Drill, opts: Options): Promise<void> {
  progress(`waiting for all ${d.orders.length} orders to close`);
  await waitFor(
    'every order to close',
    async () => {
      await refresh(d);
      return d.orders.every((o) => o.completedOn);
    },
    { timeoutMs: 600_000, intervalMs: 1000 },
  ).catch(() => undefined);
  const ledgers = await ledgersOf(d);
  await inTurn(d.orders, 5, async (o) => {
    const expected = o.movedTo ?? o.startedOn;
    if (!o.completedOn) d.violations.push(`${o.orderId}: not ended`);
    else if (o.completedOn !== expected)
      d.violations.push(`${o.orderId}: started on ${o.startedOn}, ended on ${o.completedOn}`);
    const wrong = await unwhole(d, o.placed, true, ledgers).catch((err: Error) => err.message);
    if (wrong) d.violations.push(`${o.orderId}: ledgers do not hold (${wrong})`);
  });
  const phases = tally(d.orders);
  const figures = {
    at: new Date().toISOString(),
    commit: gitCommit(),
    machine: machine(),
    options: opts,
    temporalDynamicConfig: DRAINAGE_CONFIG,
    builds: Object.fromEntries(
      d.builds.map((b) => [b.label, { buildId: b.buildId, what: b.what }]),
    ),
    phases,
    drainage: d.drainage,
    orders: d.orders.length,
    violations: d.violations,
  };
  process.stdout.write(
    `${textTable(['phase', 'build', 'started', 'completed'], tallyRows(phases))}\n`,
  );
  process.stdout.write(
    `ledgers of ${d.orders.length} orders: ${d.violations.length ? 'see the violations' : 'each charged once, shipped once, stock and points taken once, every order completed on the build it was pinned to'}\n`,
  );
  for (const v of d.violations) process.stdout.write(`violation: ${v}\n`);
  const dir = path.join(projectRoot, 'tooling', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `release-drill-${figures.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  progress(`figures in ${path.relative(projectRoot, file)}`);
  if (opts.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.stdout.write(`violations=${d.violations.length}\n`);
  if (d.violations.length) process.exitCode = 1;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof UsageError ? err.message : ((err as Error).stack ?? String(err))}\n`,
  );
  if (err instanceof UsageError) process.stderr.write(`\n${HELP}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
