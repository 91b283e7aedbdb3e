import { Option } from 'commander';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { cancelOrderWorkflow } from '../orders/order-workflow';
import { connectTemporalClient } from '../platform/temporal/client';
import { CLEANUP_WORKFLOW_TYPE, ORDER_WORKFLOW_TYPE } from '../../workflows/definitions';
import { apiUrl, config, EXIT, positiveInt, print } from './common';
import { ApiClient } from '../client/api-client';
import { callerApiKey } from '../platform/security/credentials';
import { batchSignal, select, showSelection, withProgress } from './batch-operations';

/**
 * `shipshape orders …`: reconcile, resolve or cancel every running order a visibility query finds
 * (the query `temporal workflow list --query` takes), with a dry run that acts on nothing. Reconcile
 * is a Temporal batch operation (follow it with `temporal batch describe`), its input encrypted;
 * resolve goes order by order through the API, which signs it (the workflow takes a resolve from no
 * one else); cancel goes order by order through the `cancel` update. Each order's answer is counted.
 */

const queryOption = () =>
  new Option(
    '--query <query>',
    'a Temporal visibility query, e.g. \'CustomerId = "c-7"\' or \'OrderStatus = "CHARGING_PAYMENT"\'; only running orders are acted on',
  ).makeOptionMandatory();

export function batchCommands(program: Command): void {
  const orders = program
    .command('orders')
    .description(
      'reconcile, resolve or cancel every running order a Temporal visibility query finds (--dry-run lists them and does nothing)',
    );

  orders
    .command('reconcile')
    .description(
      'signal every running order the query finds to reconcile: one Temporal batch operation, its input encrypted',
    )
    .addOption(queryOption())
    .option('--reason <text>', 'why, for the orders’ histories', 'reconcile by query')
    .option('--rate <n>', 'orders signalled per second (Temporal’s default: 50)', positiveInt)
    .option('--dry-run', 'list the orders it would signal, and signal none')
    .option('--json', 'print the result as JSON')
    .action(
      async (o: {
        query: string;
        reason: string;
        rate?: number;
        dryRun?: boolean;
        json?: boolean;
      }) => {
        await withTemporal(async (temporal) => {
          const s = await select(temporal, o.query);
          if (o.dryRun) return showSelection(s, 'reconcile', Boolean(o.json));
          if (!s.orders.length) return print('no running order matches: nothing sent');
          const r = await batchSignal(temporal, s, 'reconcile', { reason: o.reason }, o);
          report(o.json, r, `reconcile sent to ${r.done} order(s)`);
        });
      },
    );

  orders
    .command('resolve')
    .description(
      'answer every order the query finds that waits for an operator (NEEDS_ATTENTION), through the API (which signs the answer): retry the failing step, or give it up',
    )
    .addOption(queryOption())
    .addOption(
      new Option('--action <action>', 'what to do')
        .choices(['retry', 'give-up'])
        .makeOptionMandatory(),
    )
    .option('--reason <text>', 'why, for the orders’ histories', 'resolved by query')
    .option('--concurrency <n>', 'orders answered at once', positiveInt, 8)
    .option('--dry-run', 'list the orders it would resolve, and resolve none')
    .option('--json', 'print each order’s answer as JSON')
    .action(
      async (o: {
        query: string;
        action: 'retry' | 'give-up';
        reason: string;
        concurrency: number;
        dryRun?: boolean;
        json?: boolean;
      }) => {
        await withTemporal(async (temporal) => {
          // An order's own run, or the cleanup of one that closed unfinished: whichever waits.
          const s = await select(temporal, o.query, ' AND OrderStatus = "NEEDS_ATTENTION"', [
            ORDER_WORKFLOW_TYPE,
            CLEANUP_WORKFLOW_TYPE,
          ]);
          if (o.dryRun) return showSelection(s, `resolve (${o.action})`, Boolean(o.json));
          if (!s.orders.length)
            return print('no order waiting for an operator matches: nothing sent');
          const api = new ApiClient(apiUrl(config()), callerApiKey(config()));
          const answers: { orderId: string; status: number; error?: string }[] = [];
          await withProgress(
            s.orders,
            o.concurrency,
            (n) => `resolve: ${n} of ${s.orders.length} order(s)…`,
            async ({ orderId }) => {
              const r = await api.request<{ message?: string }>(
                'POST',
                `/orders/${encodeURIComponent(orderId)}/resolve`,
                { action: o.action, reason: o.reason },
              );
              answers.push({
                orderId,
                status: r.status,
                ...(r.status === 202 ? {} : { error: r.body.message ?? `HTTP ${r.status}` }),
              });
            },
          );
          if (o.json) return print(JSON.stringify({ query: s.query, orders: answers }, null, 2));
          const failed = answers.filter((a) => a.status !== 202);
          for (const a of failed) print(`${a.orderId}: not resolved (${a.error})`);
          print(
            `resolve (${o.action}) sent to ${answers.length - failed.length} order(s); ${failed.length} failed`,
          );
          if (failed.length) process.exitCode = EXIT.failed;
        });
      },
    );

  orders
    .command('cancel')
    .description(
      'cancel every running order the query finds, each through its cancel update: refused once the carrier has the shipment',
    )
    .addOption(queryOption())
    .option('--reason <text>', 'why, for the orders’ histories', 'cancelled by query')
    .option('--concurrency <n>', 'orders asked at once', positiveInt, 8)
    .option('--dry-run', 'list the orders it would cancel, and cancel none')
    .option('--json', 'print each order’s answer as JSON')
    .action(
      async (o: {
        query: string;
        reason: string;
        concurrency: number;
        dryRun?: boolean;
        json?: boolean;
      }) => {
        await withTemporal(async (temporal) => {
          const s = await select(temporal, o.query);
          if (o.dryRun) return showSelection(s, 'cancel', Boolean(o.json));
          const answers: {
            orderId: string;
            answer: 'cancelled' | 'refused' | 'ended';
            reason?: string;
          }[] = [];
          await withProgress(
            s.orders,
            o.concurrency,
            (n) => `cancel: ${n} of ${s.orders.length} order(s)…`,
            async ({ orderId, workflowId }) => {
              const a = await cancelOrderWorkflow(temporal, workflowId, o.reason);
              answers.push(
                !a
                  ? { orderId, answer: 'ended' }
                  : a.accepted
                    ? { orderId, answer: 'cancelled' }
                    : { orderId, answer: 'refused', ...(a.reason ? { reason: a.reason } : {}) },
              );
            },
          );
          if (o.json) return print(JSON.stringify({ query: s.query, orders: answers }, null, 2));
          for (const a of answers.filter((x) => x.answer === 'refused'))
            print(`${a.orderId}: refused (${a.reason ?? 'no reason given'})`);
          const count = (k: string) => answers.filter((a) => a.answer === k).length;
          print(
            `cancelled ${count('cancelled')} of ${answers.length} order(s); refused ${count('refused')}; ended meanwhile ${count('ended')}`,
          );
        });
      },
    );
}

function report(
  json: boolean | undefined,
  r: { jobId: string; total: number; done: number; failed: number },
  summary: string,
): void {
  if (json) return print(JSON.stringify(r, null, 2));
  print(`${summary}; ${r.failed} failed (batch ${r.jobId})`);
  if (r.failed) process.exitCode = EXIT.failed;
}

async function withTemporal(fn: (temporal: Client) => Promise<void>): Promise<void> {
  const temporal = await connectTemporalClient(config(), 'cli');
  try {
    await fn(temporal);
  } finally {
    await temporal.connection.close();
  }
}
