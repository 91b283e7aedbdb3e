import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, TEMPORAL_MODES, temporalModeNamed } from '../config';
import type { Config, TemporalMode } from '../config';
import { createPool } from '../db/pool';
import { listOrders } from '../orders/order-store';
import { OrderService } from '../orders/order-service';
import { reconcileRound } from '../reconciler/reconciler';
import { connectTemporalClient } from '../temporal/client';
import { createLogger } from '../logger';
import { getDeadLetter, listDeadLetters } from '../dlq/dead-letter-store';
import { replayDeadLetter, ReplayError } from '../dlq/replay';
import { connectNats } from '../messaging/connection';
import { jetstream } from '@nats-io/jetstream';
import type { OrderDetails } from '../orders/order-service';
import { prepareInfrastructure } from '../runtime/infrastructure';
import { Supervisor } from '../runtime/supervisor';
import { stackDown, stackStatus, stackUp, TemporalModeConflictError } from '../stack/stack';
import type { ServerStatus } from '../stack/stack';
import { ApiClient, ApiError } from './api-client';
import { callerApiKey } from '../api/credentials';
import { demoTable, runDemoBatch } from './demo';
import { backlogTable, openBacklog } from './backlog';
import { colourStatus, dim, green, red, table } from './output';

/** Exit codes: 0 done, 1 failed, 2 bad usage or configuration, 3 not found, 4 conflict. */
const EXIT = { failed: 1, usage: 2, notFound: 3, conflict: 4 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

const say = (line: string) => process.stderr.write(`${line}\n`);
const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const config = (): Config => loadConfig();
const apiUrl = (c: Config) => `http://127.0.0.1:${c.api.port}`;

/** "90s", "5m", "1h", "250ms" or plain milliseconds. */
function parseDuration(v: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new CliError(`"${v}" is not a duration (use e.g. 30s, 5m, 1h)`, EXIT.usage);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a whole number of 1 or more');
  return n;
};
const nonNegativeInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('must be a whole number of 0 or more');
  return n;
};

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
  } catch (err) {
    await sup.stopAll();
    throw err;
  }
  return sup;
}

const program = new Command('shipshape')
  .description(
    'Order fulfilment on Temporal, NATS JetStream and PostgreSQL that does not lose, duplicate or reorder work.',
  )
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

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
  .command('setup')
  .description(
    "the one-time setup, with the migrator's and NATS admin's rights: database migrations and grants, search attributes, streams and consumers (idempotent; `run` and `demo` do it first)",
  )
  .action(async () => {
    const c = config();
    await prepareInfrastructure(c, (l) => say(dim(l)));
    say(green('setup done'));
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

/** A short-lived pool for one CLI command. */
const withPool = async <T>(fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> => {
  const pool = createPool(config(), 'cli', { max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
};

const order = program
  .command('order')
  .description('place, inspect, cancel and reconcile orders through the API');
const orderApi = () => new ApiClient(apiUrl(config()), callerApiKey(config()));
const printOrder = (o: OrderDetails | Record<string, unknown>) => print(JSON.stringify(o, null, 2));

order
  .command('place')
  .description(
    'place an order from a JSON file (or - for standard input), as POST /orders takes it',
  )
  .argument('<file>', 'the order JSON')
  .option('--idempotency-key <key>', 'sent as the Idempotency-Key header')
  .action(async (file: string, o: { idempotencyKey?: string }) => {
    let body: unknown;
    try {
      body = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
    } catch (err) {
      throw new CliError(
        `cannot read an order from ${file}: ${(err as Error).message}`,
        EXIT.usage,
      );
    }
    const r = await orderApi().ok<Record<string, unknown>>(
      'POST',
      '/orders',
      body,
      o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {},
    );
    printOrder(r);
  });
order
  .command('get')
  .description("an order's status, steps and Temporal UI link")
  .argument('<orderId>')
  .option('--json', 'print as JSON')
  .action(async (id: string, o: { json?: boolean }) => {
    const r = await orderApi().ok<OrderDetails>('GET', `/orders/${encodeURIComponent(id)}`);
    if (o.json) return printOrder(r);
    print(
      `${r.orderId}  ${colourStatus(r.status)}  ${r.totalCents} ${r.currency} cents  customer ${r.customerId}`,
    );
    for (const [step, v] of Object.entries(r.steps ?? {}))
      print(`  ${step.padEnd(10)} ${colourStatus(v.state)}${v.detail ? ` (${v.detail})` : ''}`);
    if (r.failureReason) print(`  reason: ${r.failureReason}`);
    print(`  ${r.links.temporalUi}`);
  });
for (const action of ['cancel'] as const) {
  order
    .command(action)
    .description(
      action === 'cancel'
        ? 'cancel an order and compensate what was done'
        : 'signal an order to re-check the step it waits on',
    )
    .argument('<orderId>')
    .option('--reason <text>', 'recorded with the request')
    .action(async (id: string, o: { reason?: string }) => {
      const r = await orderApi().ok<Record<string, unknown>>(
        'POST',
        `/orders/${encodeURIComponent(id)}/${action}`,
        o.reason ? { reason: o.reason } : {},
      );
      printOrder(r);
    });
}
order
  .command('reconcile')
  .description(
    'signal an order to re-check the step it waits on against the owning service; or, with --stuck-for, every order without progress for that long (and compensate effects no workflow accounts for)',
  )
  .argument('[orderId]')
  .option(
    '--stuck-for <duration>',
    'e.g. 30s, 5m, 1h: reconcile every order that made no progress for this long',
  )
  .option('--reason <text>', 'recorded with the request')
  .option('--json', 'print as JSON')
  .action(
    async (id: string | undefined, o: { stuckFor?: string; reason?: string; json?: boolean }) => {
      if (!id === !o.stuckFor)
        throw new CliError('give either an order id or --stuck-for', EXIT.usage);
      if (id) {
        const r = await orderApi().ok<Record<string, unknown>>(
          'POST',
          `/orders/${encodeURIComponent(id)}/reconcile`,
          o.reason ? { reason: o.reason } : {},
        );
        return printOrder(r);
      }
      const thresholdMs = parseDuration(o.stuckFor!);
      const c = config();
      const nc = await connectNats(c, 'cli');
      const temporal = await connectTemporalClient(c);
      try {
        const report = await withPool((pool) =>
          reconcileRound(
            {
              temporal,
              pool,
              js: jetstream(nc),
              orders: new OrderService(temporal, pool, c),
              namespace: c.temporal.namespace,
              log: createLogger('cli', 'silent'),
            },
            { thresholdMs, maxPerRound: c.reconciler.maxPerRound },
          ),
        );
        if (o.json) return print(JSON.stringify(report, null, 2));
        print(
          `signalled to reconcile: ${report.signalled.length ? report.signalled.join(', ') : 'none'}`,
        );
        print(
          `started (had no workflow): ${report.started.length ? report.started.join(', ') : 'none'}`,
        );
        for (const x of report.orphans)
          print(`orphan ${x.effect} of ${x.orderId}: sent ${x.compensation}`);
        if (!report.orphans.length) print('orphan effects: none');
      } finally {
        await nc.close();
        await temporal.connection.close();
      }
    },
  );

order
  .command('list')
  .description('recent orders from the orders table')
  .option('--status <status>', 'only this status (e.g. FAILED)')
  .option('--customer <customerId>', "only this customer's orders")
  .addOption(new Option('--limit <n>', 'at most this many').argParser(positiveInt).default(50))
  .option('--json', 'print as JSON')
  .action(async (o: { status?: string; customer?: string; limit: number; json?: boolean }) => {
    const rows = await withPool((pool) =>
      listOrders(pool, {
        status: o.status,
        customerId: o.customer,
        limit: o.limit,
      }),
    );
    if (o.json) return print(JSON.stringify(rows, null, 2));
    print(
      table(
        ['order', 'status', 'customer', 'total', 'updated'],
        rows.map((r) => [
          r.orderId,
          colourStatus(r.status),
          r.customerId,
          `${r.totalCents} ${r.currency}`,
          r.updatedAt.toISOString(),
        ]),
      ),
    );
  });

order
  .command('resolve')
  .description(
    'answer an order that NEEDS_ATTENTION: retry the failing compensation, or give it up',
  )
  .argument('<orderId>')
  .addOption(
    new Option('--action <action>', 'what to do')
      .choices(['retry', 'give-up'])
      .makeOptionMandatory(),
  )
  .option('--reason <text>', 'recorded with the request')
  .action(async (id: string, o: { action: string; reason?: string }) => {
    const r = await orderApi().ok<Record<string, unknown>>(
      'POST',
      `/orders/${encodeURIComponent(id)}/resolve`,
      {
        action: o.action,
        ...(o.reason ? { reason: o.reason } : {}),
      },
    );
    printOrder(r);
  });

program
  .command('backlog')
  .description(
    'one table across broker and engine: pending, oldest age, rate and time to drain per consumer and task queue',
  )
  .option('--watch', 'refresh every --interval seconds until Ctrl-C')
  .addOption(
    new Option('--interval <seconds>', 'sampling interval').argParser(positiveInt).default(2),
  )
  .option('--json', 'print as JSON (one object per sample)')
  .action(async (o: { watch?: boolean; interval: number; json?: boolean }) => {
    const backlog = await openBacklog(config());
    try {
      let stop = false;
      process.once('SIGINT', () => (stop = true));
      do {
        const report = await backlog.report(o.interval * 1000);
        if (o.json) print(JSON.stringify(report));
        else {
          if (o.watch && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
          print(`${dim(report.at)}\n${backlogTable(report)}`);
        }
        if (o.watch && !stop) await new Promise((r) => setTimeout(r, o.interval * 1000));
      } while (o.watch && !stop);
    } finally {
      await backlog.close();
    }
  });

const dlq = program
  .command('dlq')
  .description('dead letters: messages that ran out of deliveries or could not be processed');
dlq
  .command('list')
  .description('dead letters, newest first')
  .addOption(
    new Option('--status <status>', 'only open or replayed ones').choices(['open', 'replayed']),
  )
  .option('--order <orderId>', "only this order's")
  .addOption(new Option('--limit <n>', 'at most this many').argParser(positiveInt).default(50))
  .option('--json', 'print as JSON')
  .action(async (o: { status?: string; order?: string; limit: number; json?: boolean }) => {
    const rows = await withPool((pool) =>
      listDeadLetters(pool, { status: o.status, orderId: o.order, limit: o.limit }),
    );
    if (o.json) return print(JSON.stringify(rows, null, 2));
    print(
      table(
        ['id', 'status', 'subject', 'order', 'deliveries', 'last seen', 'error'],
        rows.map((d) => [
          d.id,
          d.status === 'open' ? red(d.status) : d.status,
          d.subject,
          d.orderId ?? '-',
          String(d.deliveryCount),
          d.lastSeen.toISOString(),
          d.error.slice(0, 80),
        ]),
      ),
    );
  });
dlq
  .command('show')
  .description('one dead letter with its headers and payload')
  .argument('<id>')
  .action(async (id: string) => {
    const d = await withPool((pool) => getDeadLetter(pool, id));
    if (!d) throw new CliError(`no dead letter ${id}`, EXIT.notFound);
    print(JSON.stringify(d, null, 2));
  });
dlq
  .command('replay')
  .description(
    're-publish dead letters to their original subjects (a command already done has no second effect)',
  )
  .argument('[id]', 'the dead letter to replay')
  .option('--all', 'replay every open dead letter')
  .option('--payload-file <file>', 'replace the payload with this (fixed) JSON; only with one id')
  .action(async (id: string | undefined, o: { all?: boolean; payloadFile?: string }) => {
    if (!id === !o.all) throw new CliError('give either a dead letter id or --all', EXIT.usage);
    if (o.payloadFile && o.all)
      throw new CliError('--payload-file goes with one id, not --all', EXIT.usage);
    const fixed = o.payloadFile ? readFileSync(o.payloadFile, 'utf8') : undefined;
    const c = config();
    const nc = await connectNats(c, 'cli');
    try {
      await withPool(async (pool) => {
        const targets = id
          ? [await getDeadLetter(pool, id)]
          : await listDeadLetters(pool, { status: 'open', limit: 10_000 });
        if (id && !targets[0]) throw new CliError(`no dead letter ${id}`, EXIT.notFound);
        for (const d of targets) {
          const { seq } = await replayDeadLetter(pool, jetstream(nc), d!, fixed);
          say(`replayed dead letter ${d!.id} to ${d!.subject} (stream seq ${seq})`);
        }
        if (!targets.length) say('no open dead letters');
      });
    } finally {
      await nc.close();
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    say(red(err.message));
    process.exitCode = EXIT.usage;
  } else if (err instanceof ApiError) {
    say(red(err.message));
    process.exitCode =
      err.status === 404
        ? EXIT.notFound
        : err.status === 409
          ? EXIT.conflict
          : err.status < 500
            ? EXIT.usage
            : EXIT.failed;
  } else if (err instanceof ReplayError) {
    say(red(err.message));
    process.exitCode = EXIT.usage;
  } else if (err instanceof TemporalModeConflictError) {
    say(red(err.message));
    process.exitCode = EXIT.conflict;
  } else if (err instanceof CliError) {
    say(red(err.message));
    process.exitCode = err.exitCode;
  } else {
    say(red(`shipshape: ${(err as Error).stack ?? String(err)}`));
    process.exitCode = EXIT.failed;
  }
});
