import { setTimeout as delay } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Config } from '../platform/config';
import { consumerBacklog, taskQueueBacklog } from '../platform/metrics/backlog';
import { connectNats } from '../platform/messaging/connection';
import { connectTemporalClient } from '../platform/temporal/client';
import { Option } from 'commander';
import type { Command } from 'commander';
import { config, positiveInt, print } from './common';
import { dim, table } from './output';

export interface BacklogReport {
  at: string;
  rows: {
    source: 'consumer' | 'task-queue';
    name: string;
    pending: number;
    oldestAgeSeconds: number;
    /** Messages acknowledged per second over the sampling interval; null where not measurable. */
    ratePerSecond: number | null;
    /** pending / rate, or null when nothing moves. */
    drainSeconds: number | null;
  }[];
}

/** A backlog collector that keeps its connections, so `--watch` samples cheaply. */
export async function openBacklog(config: Config) {
  const nc = await connectNats(config, 'cli', 'shipshape-cli-backlog');
  const jsm = await jetstreamManager(nc);
  const temporal = await connectTemporalClient(config, 'cli');
  let previous: { at: number; done: Map<string, number> } | undefined;

  const sample = async () => {
    const [consumers, queues] = await Promise.all([
      consumerBacklog(jsm),
      taskQueueBacklog(temporal, config.temporal.namespace, config.temporal.taskQueue).catch(
        () => [],
      ),
    ]);
    return { at: Date.now(), rows: [...consumers, ...queues] };
  };

  return {
    /** Two samples `intervalMs` apart the first time; afterwards each call compares with the last one. */
    async report(intervalMs = 1000): Promise<BacklogReport> {
      if (!previous) {
        const first = await sample();
        previous = {
          at: first.at,
          done: new Map(first.rows.map((r) => [r.name, r.doneCounter ?? 0])),
        };
        await delay(intervalMs);
      }
      const now = await sample();
      const seconds = Math.max(0.001, (now.at - previous.at) / 1000);
      const rows = now.rows.map((r) => {
        const before = previous!.done.get(r.name);
        const rate =
          r.doneCounter !== undefined && before !== undefined
            ? (r.doneCounter - before) / seconds
            : null;
        return {
          source: r.kind,
          name: r.name,
          pending: r.pending,
          oldestAgeSeconds: Math.round(r.oldestAgeSeconds * 10) / 10,
          ratePerSecond: rate === null ? null : Math.round(rate * 10) / 10,
          drainSeconds:
            r.pending === 0 ? 0 : rate ? Math.round((r.pending / rate) * 10) / 10 : null,
        };
      });
      previous = { at: now.at, done: new Map(now.rows.map((r) => [r.name, r.doneCounter ?? 0])) };
      return { at: new Date(now.at).toISOString(), rows };
    },
    async close() {
      await nc.close();
      await temporal.connection.close();
    },
  };
}

export function backlogTable(report: BacklogReport): string {
  return table(
    ['source', 'consumer / task queue', 'pending', 'oldest (s)', 'rate (/s)', 'drain in (s)'],
    report.rows.map((r) => [
      r.source,
      r.name,
      String(r.pending),
      String(r.oldestAgeSeconds),
      r.ratePerSecond === null ? '-' : String(r.ratePerSecond),
      r.drainSeconds === null ? (r.pending ? 'stalled' : '-') : String(r.drainSeconds),
    ]),
  );
}

/** `shipshape backlog`. */
export function backlogCommand(program: Command): void {
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
}
