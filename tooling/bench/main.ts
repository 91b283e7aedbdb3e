import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPool } from '../../src/platform/db/pool';
import { connectNats } from '../../src/platform/messaging/connection';
import { projectRoot } from '../../src/platform/paths';
import { benchStackUp } from './bench-stack';
import { profileProcessesInto } from './designs';
import type { DesignName } from './designs';
import { runFocused } from './focused-run';
import { runSustained, sustainedTable } from './sustained-run';
import { CEILING_SHAPE, engineCeiling } from './engine-ceiling';
import type { EngineCeiling } from './engine-ceiling';
import { runDesign } from './full-run';
import type { DesignResult } from './full-run';
import { clearLeftovers } from './leftovers';
import { ensureOutboxTopology } from './outbox-choreography';
import { parseOptions } from './plan';
import type { OutsideClientPlan, Plan } from './plan';
import type { BenchContext } from './phases';
import { chart, table } from './report';
import { began, gitCommit, machine, progress } from './run-info';
import { ceilingTable, runApiCeiling } from './api-ceiling';
import type { Harness } from './designs';
import { LoadProcess } from './remote-load';
import { loadConfig } from '../../src/platform/config';
import { apiKeyFor } from './api-key';
import { outsideLine, outsideStream } from './outside-client';
import { BENCH_PORT_OFFSET } from './bench-stack';

/**
 * `npm run bench`: Shipshape, the synchronous chain and the outbox choreography, one after another on
 * the same local stack, with the same fake providers. Progress on stderr, a table on stdout, the
 * figures in tooling/bench/results/<timestamp>.json and the burst's chart beside them (and in docs/).
 */

/**
 * `--outside-client`: the stream against a `shipshape run` already running (this stack's, unless --url
 * says otherwise), as an outside client; nothing is started.
 */
async function outsideClientOnly(o: OutsideClientPlan): Promise<void> {
  process.env.SHIPSHAPE_STACK_DIR ??= '.shipshape-bench';
  process.env.SHIPSHAPE_PORT_OFFSET ??= String(BENCH_PORT_OFFSET);
  const config = loadConfig();
  const url = o.url ?? `http://127.0.0.1:${config.api.port}/orders`;
  const key = apiKeyFor(config, o.apiKey);
  progress(
    `outside client: ${o.orders} orders from ${o.clients} clients to ${url} after ${o.warmUp} not counted, ${key.kind}`,
  );
  const f = await outsideStream({
    url,
    key: key.secret,
    orders: o.orders,
    clients: o.clients,
    warmUp: o.warmUp,
    client: o.client,
    prefix: `outside-${Date.now().toString(36)}`,
  });
  process.stdout.write(outsideLine(f) + '\n');
}

async function main(argv: string[]): Promise<void> {
  const { plan, cpuProfiles, docsChart, outsideClient } = parseOptions(argv);
  if (outsideClient) return outsideClientOnly(outsideClient);
  if (cpuProfiles) {
    mkdirSync(cpuProfiles, { recursive: true });
    profileProcessesInto(path.resolve(cpuProfiles));
  }

  const config = await benchStackUp(progress);
  // The designs' processes: the same stack, absolute paths, no API rate limit (a policy, not work).
  const env: NodeJS.ProcessEnv = {
    SHIPSHAPE_STACK_DIR: config.stack.dir,
    SHIPSHAPE_PORT_OFFSET: process.env.SHIPSHAPE_PORT_OFFSET,
    SHIPSHAPE_API_RATE_PER_MIN: '0',
    LOG_LEVEL: process.env.LOG_LEVEL,
  };
  const pool = createPool(config, 'migrator', { max: 4, applicationName: 'bench' });
  const nc = await connectNats(config, 'admin', 'bench-setup');
  await ensureOutboxTopology(config, nc, pool);
  const left = await clearLeftovers(config, pool, nc);
  await nc.close();
  progress(`bench stack cleared (${left.workflows} workflows of an earlier run terminated)`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runId = Date.now().toString(36);
  const resultsDir = path.join(projectRoot, 'tooling', 'bench', 'results');
  const logDir = path.join(config.stack.dir, 'bench-logs', stamp);
  mkdirSync(resultsDir, { recursive: true });
  // The load from a process of its own (every design), unless the old harness is asked for.
  const apiCeiling = plan.focus?.kind === 'api-ceiling';
  const harness: Harness = {
    kind: plan.harness,
    apiKey: plan.apiKey,
    ...(plan.appNode ? { appNode: plan.appNode } : {}),
    ...(plan.harness === 'user-run' || apiCeiling ? { load: await LoadProcess.start() } : {}),
  };
  try {
    await measure(
      plan,
      { config, pool, runId, env, logDir, harness },
      resultsDir,
      stamp,
      docsChart,
    );
  } finally {
    await harness.load?.stop();
  }
}

async function measure(
  plan: Plan,
  ctx: BenchContext,
  resultsDir: string,
  stamp: string,
  docsChart: boolean,
): Promise<void> {
  const { pool, logDir } = ctx;
  /**
   * A load measured once rather than per design: its figures in `<stamp>-<kind>.json` under `key`,
   * its table on stdout.
   */
  const measureOnce = async <T>(
    kind: string,
    key: string,
    run: () => Promise<T>,
    tableOf: (result: T) => string,
  ): Promise<void> => {
    const file = path.join(resultsDir, `${stamp}-${kind}.json`);
    try {
      const result = await run();
      const out = { [key]: result, machine: machine(), commit: gitCommit(), plan };
      writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
      process.stdout.write(tableOf(result) + '\n');
    } finally {
      await pool.end();
    }
    progress(`figures: ${path.relative(process.cwd(), file)}; process logs: ${logDir}`);
  };
  const focus = plan.focus;
  if (focus?.kind === 'api-ceiling')
    return measureOnce(
      'api-ceiling',
      'apiCeiling',
      () => runApiCeiling(plan, focus.clients, ctx, ctx.harness.load!),
      ceilingTable,
    );
  if (focus?.kind === 'sustained')
    return measureOnce(
      'sustained',
      'sustained',
      () => runSustained(plan, focus.runs, ctx),
      sustainedTable,
    );
  if (focus) {
    const focused: Record<string, unknown> = {};
    const file = path.join(resultsDir, `${stamp}-${focus.kind}.json`);
    try {
      for (const d of plan.designs) {
        focused[d] = await runFocused(d, focus, plan, ctx);
        const out = { designs: focused, machine: machine(), commit: gitCommit(), plan };
        writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
      }
    } finally {
      await pool.end();
    }
    progress(`figures: ${path.relative(process.cwd(), file)}; process logs: ${logDir}`);
    return;
  }
  const results: Partial<Record<DesignName, DesignResult>> = {};
  const jsonFile = path.join(resultsDir, `${stamp}.json`);
  const svgFile = path.join(resultsDir, `${stamp}.svg`);
  // Written after every design, so an interrupted run still leaves what it measured.
  const save = (complete: boolean) => {
    const out = {
      designs: results,
      complete,
      machine: machine(),
      commit: gitCommit(),
      startedAt: new Date(began).toISOString(),
      ...(ceiling ? { engineCeiling: ceiling } : {}),
      plan: { ...plan },
    };
    writeFileSync(jsonFile, JSON.stringify(out, null, 2) + '\n');
    writeFileSync(svgFile, chart(results, plan));
  };
  let ceiling: EngineCeiling | undefined;
  try {
    for (const d of plan.designs) {
      results[d] = await runDesign(d, plan, ctx);
      save(false);
    }
  } finally {
    await pool.end();
  }
  // Shipshape's rate against what the engine alone does on this machine, measured now, not quoted.
  if (results.shipshape) {
    progress(
      `the engine's ceiling: ${CEILING_SHAPE} workflows (an order's steps, no work) on the dev server`,
    );
    ceiling = await engineCeiling(plan.quick ? 5 : 20, logDir, results.shipshape.maxOrdersPerSec);
    progress(
      `engine ceiling ${ceiling.perSec}/s; Shipshape sustained ${results.shipshape.maxOrdersPerSec}/s = ${ceiling.shipshapeShare} of it`,
    );
  }
  save(true);
  if (docsChart) copyFileSync(svgFile, path.join(projectRoot, 'docs', 'benchmarks.svg'));
  process.stdout.write(table(results, ceiling) + '\n');
  progress(
    `figures: ${path.relative(process.cwd(), jsonFile)}; chart: ${path.relative(process.cwd(), svgFile)}; process logs: ${logDir}`,
  );
}

main(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
