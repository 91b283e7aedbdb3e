import { Option } from 'commander';
import type { Command } from 'commander';
import { TEMPORAL_MODES, temporalModeNamed } from '../../src/platform/config';
import type { Config, TemporalMode } from '../../src/platform/config';
import { prepareInfrastructure } from '../../src/processes/setup';
import { Supervisor } from '../../src/processes/supervisor';
import { makeThisBuildCurrent } from '../../src/processes/worker-version';
import { stackDown, stackStatus, stackUp } from '../stack/stack';
import type { ServerStatus } from '../stack/stack';
import {
  apiUrl,
  CliError,
  config,
  EXIT,
  nonNegativeInt,
  positiveInt,
  print,
  say,
} from '../../src/cli/common';
import { demoTable, runDemoBatch } from './demo';
import { colourStatus, dim, green, red, table } from '../../src/cli/output';

/** The commands that run Shipshape on this machine: the local stack, run, the demo. */

function statusTable(servers: ServerStatus[]): string {
  return table(
    ['server', 'state', 'address', 'pid', 'log'],
    servers.map((s) => [
      s.name,
      s.running ? green('running') : red('stopped'),
      s.ui ? `${s.address} (UI ${s.ui})` : s.address,
      s.pid === null ? (s.managed ? '-' : 'external') : String(s.pid),
      s.log ?? '-',
    ]),
  );
}

/** Waits for SIGINT or SIGTERM. */
const untilSignal = () =>
  new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });

async function startApp(c: Config): Promise<Supervisor> {
  say('applying migrations, streams and consumers');
  await prepareInfrastructure(c, (l) => say(dim(l)));
  const sup = new Supervisor({ config: c, log: (l) => say(dim(l)) });
  say(`starting ${sup.names().length} processes (logs in ${sup.logDir})`);
  try {
    await sup.startAll();
    const version = await makeThisBuildCurrent(c);
    if (version) say(`new orders start on Worker Deployment Version ${version}`);
  } catch (err) {
    await sup.stopAll();
    throw err;
  }
  return sup;
}

/** A bad --temporal is bad usage (exit 2), said the way a bad SHIPSHAPE_TEMPORAL is. */
const temporalMode = (v: string): TemporalMode => {
  const mode = temporalModeNamed(v);
  if (!mode)
    throw new CliError(
      `--temporal must be one of ${TEMPORAL_MODES.join(', ')}, got "${v}"`,
      EXIT.usage,
    );
  return mode;
};

export function localCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description(
      'the local servers: Temporal (a dev server, or a two-node cluster), NATS with JetStream, PostgreSQL',
    );
  stack
    .command('up')
    .description('start whatever is not running (idempotent); returns once every server answers')
    .addOption(
      new Option(
        '--temporal <mode>',
        "dev: the Temporal CLI's dev server; cluster: two Temporal server nodes on PostgreSQL behind a round-robin forwarder, with the UI. Unset: SHIPSHAPE_TEMPORAL, else what the stack runs now, else dev",
      ).argParser(temporalMode),
    )
    .option('--json', 'print the status as JSON')
    .action(async (o: { temporal?: TemporalMode; json?: boolean }) => {
      const c = config();
      if (o.temporal) c.stack.temporal = o.temporal;
      const servers = await stackUp(c, say);
      print(o.json ? JSON.stringify(servers, null, 2) : statusTable(servers));
    });
  stack
    .command('down')
    .description("stop the servers this stack started (never the system's own)")
    .action(async () => {
      await stackDown(config(), say);
      say('stack stopped');
    });
  stack
    .command('status')
    .description('each server, its address and pid; exits 1 if one is not running')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const servers = await stackStatus(config());
      print(o.json ? JSON.stringify(servers, null, 2) : statusTable(servers));
      if (servers.some((s) => !s.running)) process.exitCode = EXIT.failed;
    });

  program
    .command('run')
    .description(
      'start every process of the app (API, Temporal worker, services, reply bridge, outbox relay, fake providers) until Ctrl-C',
    )
    .option('--no-stack', 'do not start the local stack first (use the configured servers)')
    .action(async (o: { stack: boolean }) => {
      const c = config();
      if (o.stack) await stackUp(c, say);
      const sup = await startApp(c);
      say(
        green(
          `Shipshape is running: API ${apiUrl(c)}, Temporal UI ${c.temporal.uiUrl}. Ctrl-C stops it.`,
        ),
      );
      const signal = await untilSignal();
      say(`${signal}: stopping`);
      await sup.stopAll();
    });

  program
    .command('demo')
    .description(
      'bring the stack up, start the app, place a batch of orders and print how each one ended',
    )
    .option('--once', 'exit when the batch is done instead of staying up for the Temporal UI')
    .addOption(new Option('--orders <n>', 'orders in the batch').argParser(positiveInt).default(20))
    .addOption(
      new Option('--declined <n>', 'of which declined by the payment provider')
        .argParser(nonNegativeInt)
        .default(3),
    )
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting after this long')
        .argParser(positiveInt)
        .default(300),
    )
    .option('--json', 'print the result as JSON instead of a table')
    .action(
      async (o: {
        once?: boolean;
        orders: number;
        declined: number;
        timeout: number;
        json?: boolean;
      }) => {
        if (o.declined >= o.orders)
          throw new CliError('--declined must be smaller than --orders', EXIT.usage);
        const c = config();
        const before = await stackStatus(c);
        const started = Date.now();
        await stackUp(c, say);
        say(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const sup = await startApp(c);
        let failed = false;
        try {
          const result = await runDemoBatch(
            c,
            { orders: o.orders, declined: o.declined, timeoutMs: o.timeout * 1000 },
            apiUrl(c),
          );
          print(o.json ? JSON.stringify(result, null, 2) : demoTable(result.orders));
          say(
            Object.entries(result.byStatus)
              .map(([s, n]) => `${colourStatus(s)} ${n}`)
              .join('  '),
          );
        } catch (err) {
          failed = true;
          say(red(`demo failed: ${(err as Error).message}`));
        }
        if (!o.once && !failed) {
          say(
            green(
              `The stack stays up: Temporal UI ${c.temporal.uiUrl}, API ${apiUrl(c)}. Ctrl-C stops it.`,
            ),
          );
          await untilSignal();
        }
        await sup.stopAll();
        // Leave running what was running before; stop what the demo itself started.
        if (before.every((s) => !s.managed || !s.running)) await stackDown(c, say);
        if (failed) process.exitCode = EXIT.failed;
      },
    );
}
