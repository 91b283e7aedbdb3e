import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { encodeToPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { temporal as proto } from '@temporalio/proto';
import { inTurn } from '../platform/in-turn';
import { ProgressLine, stderrOrLog } from '../platform/progress-line';
import {
  CustomerIdKey,
  ORDER_WORKFLOW_TYPE,
  orderIdOf,
  OrderStatusKey,
} from '../../workflows/definitions';
import { CliError, config, EXIT, print, say } from './common';
import { table } from './output';

/**
 * The mechanism under `shipshape orders …` (batch-commands.ts): finding the running orders a
 * visibility query selects, showing them for a dry run, one Temporal batch signal followed to its
 * end, and order-by-order work at a bounded concurrency, each with a progress line.
 */

const BatchState = proto.api.enums.v1.BatchOperationState;

export interface Selection {
  query: string;
  orders: {
    orderId: string;
    workflowId: string;
    status: string;
    customerId: string;
    started: string;
  }[];
}

/** The running orders (of these workflow types) the operator's query finds, narrowed as the action needs. */
export async function select(
  temporal: Client,
  userQuery: string,
  narrower = '',
  types: readonly string[] = [ORDER_WORKFLOW_TYPE],
): Promise<Selection> {
  const query = `WorkflowType IN (${types.map((t) => `"${t}"`).join(', ')}) AND ExecutionStatus = "Running"${narrower} AND (${userQuery})`;
  const orders: Selection['orders'] = [];
  try {
    for await (const wf of temporal.workflow.list({ query, pageSize: 1000 })) {
      orders.push({
        orderId: orderIdOf(wf.workflowId) ?? wf.workflowId,
        workflowId: wf.workflowId,
        status: wf.typedSearchAttributes.get(OrderStatusKey) ?? '?',
        customerId: wf.typedSearchAttributes.get(CustomerIdKey) ?? '?',
        started: wf.startTime.toISOString(),
      });
    }
  } catch (err) {
    throw new CliError(
      `Temporal refused the query ${JSON.stringify(userQuery)}: ${(err as Error).message}`,
      EXIT.usage,
    );
  }
  return { query, orders };
}

export function showSelection(s: Selection, action: string, json: boolean): void {
  if (json) {
    print(JSON.stringify({ dryRun: true, action, query: s.query, orders: s.orders }, null, 2));
    return;
  }
  if (s.orders.length)
    print(
      table(
        ['order', 'status', 'customer', 'started'],
        s.orders.map((o) => [o.orderId, o.status, o.customerId, o.started]),
      ),
    );
  print(`would ${action} ${s.orders.length} running order(s); nothing done (--dry-run)`);
}

/**
 * Sends `signal` with `input` (encrypted) to every order `query` finds, as one Temporal batch
 * operation, and follows it to its end with a progress line.
 */
export async function batchSignal(
  temporal: Client,
  s: Selection,
  signal: string,
  input: unknown,
  opts: { reason: string; rate?: number },
) {
  const namespace = config().temporal.namespace;
  const jobId = `shipshape-${signal}-${randomUUID()}`;
  await temporal.workflowService.startBatchOperation({
    namespace,
    jobId,
    reason: opts.reason,
    visibilityQuery: s.query,
    ...(opts.rate ? { maxOperationsPerSecond: opts.rate } : {}),
    signalOperation: {
      signal,
      input: { payloads: await encodeToPayloads(temporal.options.loadedDataConverter, input) },
      identity: 'shipshape-cli',
    },
  });
  say(`batch ${jobId} started (follow it with: temporal batch describe --job-id ${jobId})`);
  const progress = new ProgressLine(stderrOrLog(say), Date.now, 2_000);
  for (;;) {
    const d = await temporal.workflowService.describeBatchOperation({ namespace, jobId });
    const total = Number(d.totalOperationCount ?? 0);
    const done = Number(d.completeOperationCount ?? 0);
    const failed = Number(d.failureOperationCount ?? 0);
    if (d.state !== BatchState.BATCH_OPERATION_STATE_RUNNING) {
      progress.finish();
      if (d.state === BatchState.BATCH_OPERATION_STATE_FAILED)
        throw new CliError(`batch ${jobId} failed: ${d.reason ?? 'no reason given'}`);
      return { jobId, total, done, failed };
    }
    progress.show(`${signal}: ${done + failed} of ${total} order(s)… ${progress.elapsed()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Runs `fn` over `items`, at most `concurrency` at once, showing how far it got. */
export async function withProgress<T>(
  items: readonly T[],
  concurrency: number,
  label: (done: number) => string,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const progress = new ProgressLine(stderrOrLog(say), Date.now, 2_000);
  await inTurn(items, concurrency, fn, (done) => progress.show(label(done)));
  progress.finish();
}
