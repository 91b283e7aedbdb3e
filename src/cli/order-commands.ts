import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ApiClient } from '../client/api-client';
import { listOrders } from '../orders/order-store';
import type { OrderDetails } from '../orders/order-service';
import { createPool } from '../platform/db/pool';
import { connectNats } from '../platform/messaging/connection';
import { askerOf } from '../services/core/queries';
import { createLogger } from '../platform/logger';
import { callerApiKey } from '../platform/security/credentials';
import { connectTemporalClient } from '../platform/temporal/client';
import { reconcileRound } from '../reconciler/reconciler';
import { reconcilerDeps } from '../processes/reconciler';
import {
  apiUrl,
  CliError,
  config,
  EXIT,
  parseDuration,
  positiveInt,
  print,
  say,
  withPool,
} from './common';
import { colourStatus, table } from './output';
import { WAIT_POINTS } from '../domain/wait-points';
import type { WaitPoint } from '../domain/wait-points';
import {
  DEFAULT_WAIT_POINT,
  DEFAULT_WAIT_SECONDS,
  MAX_WAIT_SECONDS,
} from '../orders/api/wait-request';

/** `--wait-seconds`: whole seconds the API takes (1…MAX_WAIT_SECONDS). */
function waitSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_WAIT_SECONDS)
    throw new InvalidArgumentError(`must be whole seconds from 1 to ${MAX_WAIT_SECONDS}`);
  return n;
}

/** `shipshape order …`: place, read, cancel, reconcile and resolve orders through the API. */

export function orderCommands(program: Command): void {
  const order = program
    .command('order')
    .description('place, inspect, cancel and reconcile orders through the API');
  const orderApi = () => new ApiClient(apiUrl(config()), callerApiKey(config()));
  const printOrder = (o: object) => print(JSON.stringify(o, null, 2));

  order
    .command('place')
    .description(
      'place an order from a JSON file (or - for standard input), as POST /orders takes it; with --wait, answer once it gets there',
    )
    .argument('<file>', 'the order JSON')
    .option('--idempotency-key <key>', 'sent as the Idempotency-Key header')
    .addOption(
      new Option(
        '--wait <point>',
        'wait until the order is accepted by its workflow, paid or shipped (or has ended), then print its state',
      ).choices(WAIT_POINTS),
    )
    .option(
      '--wait-seconds <n>',
      `how long to wait, 1-${MAX_WAIT_SECONDS} (default ${DEFAULT_WAIT_SECONDS}); alone, waits for ${DEFAULT_WAIT_POINT}`,
      waitSeconds,
    )
    .action(
      async (
        file: string,
        o: { idempotencyKey?: string; wait?: WaitPoint; waitSeconds?: number },
      ) => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as Record<
            string,
            unknown
          >;
        } catch (err) {
          throw new CliError(
            `cannot read an order from ${file}: ${(err as Error).message}`,
            EXIT.usage,
          );
        }
        const r = await orderApi().placeOrder(body, o);
        if ((o.wait || o.waitSeconds) && !r.reached)
          say('the wait ran out first: the order goes on (shipshape order get to follow it)');
        printOrder(r.order);
      },
    );
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
      for (const [step, v] of Object.entries(r.steps ?? {})) {
        const undone =
          v.undone && v.state !== 'SKIPPED'
            ? `  undone: ${Object.entries(v.undone)
                .map(([k, x]) => `${k} ${String(x)}`)
                .join(', ')}`
            : '';
        print(
          `  ${step.padEnd(10)} ${colourStatus(v.state)}${v.detail ? ` (${v.detail})` : ''}${undone}`,
        );
      }
      if (r.failureReason) print(`  reason: ${r.failureReason}`);
      if (r.attention) print(`  needs attention: ${r.attention}`);
      for (const x of r.rejectedInputs ?? []) print(`  refused input: ${x}`);
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
      'signal an order to re-check the step it waits on against the owning service; or, with --stuck-for, run one round of the reconciler: signal every order without progress for that long, start orders left without a workflow, and clean up orders whose run closed unfinished or that still hold effects after ending',
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
        // A round by hand is the reconciler's round: its database role, and its signature on the
        // starts and cleanups it sends (run it where the reconciler's credentials are).
        const temporal = await connectTemporalClient(c, 'reconciler');
        const pool = createPool(c, 'reconciler', { max: 2 });
        const nc = await connectNats(c, 'reconciler', 'shipshape-cli');
        try {
          const report = await reconcileRound(
            reconcilerDeps(c, {
              temporal,
              pool,
              log: createLogger('cli', 'silent'),
              ask: askerOf(nc),
            }),
            { ...c.reconciler, thresholdMs },
          );
          if (report.failed.length) process.exitCode = EXIT.failed;
          if (o.json) return print(JSON.stringify(report, null, 2));
          const list = (ids: string[]) => (ids.length ? ids.join(', ') : 'none');
          print(`signalled to reconcile: ${list(report.signalled)}`);
          print(`started (had no workflow): ${list(report.started)}`);
          print(`cleanups of runs that closed unfinished: ${list(report.cleanups)}`);
          for (const x of report.orphans)
            print(`effects left by ${x.orderId} (${x.effects.join(', ')}): cleanup ${x.cleanup}`);
          if (!report.orphans.length) print('effects left by ended orders: none');
          print(`marked for a person: ${list(report.attention)}`);
          print(`past their lifetime (oldest first): ${list(report.overdue)}`);
          for (const what of report.failed) print(`failed (see the log): ${what}`);
        } finally {
          await nc.close();
          await pool.end();
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
}
