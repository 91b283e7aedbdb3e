import type { JetStreamManager } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { consumerBacklog, taskQueueBacklog } from './backlog';
import type { BacklogRow } from './backlog';

/**
 * Backlog across broker and engine, read when scraped (at most once a second): per JetStream consumer
 * the pending count and the oldest pending message's age, Temporal's task-queue backlog, open dead letters.
 */
export function registerBacklogGauges(
  registry: Registry,
  deps: {
    jsm: JetStreamManager;
    temporal: Client;
    pool: Pool;
    namespace: string;
    taskQueue: string;
  },
): void {
  let cached: { at: number; rows: Promise<BacklogRow[]> } | undefined;
  const rows = () => {
    if (!cached || Date.now() - cached.at > 1000) {
      cached = {
        at: Date.now(),
        rows: Promise.all([
          consumerBacklog(deps.jsm),
          taskQueueBacklog(deps.temporal, deps.namespace, deps.taskQueue).catch(() => []),
        ]).then(([a, b]) => [...a, ...b]),
      };
    }
    return cached.rows;
  };
  const perRow: [string, string, (r: BacklogRow) => number][] = [
    [
      'shipshape_backlog_pending',
      'Messages or tasks waiting: per JetStream consumer num_pending + num_ack_pending; per Temporal task queue the approximate backlog',
      (r) => r.pending,
    ],
    [
      'shipshape_backlog_oldest_age_seconds',
      'Age of the oldest waiting message or task',
      (r) => r.oldestAgeSeconds,
    ],
  ];
  for (const [name, help, value] of perRow) {
    new Gauge({
      name,
      help,
      labelNames: ['source', 'name'] as const,
      registers: [registry],
      async collect() {
        for (const r of await rows()) this.set({ source: r.kind, name: r.name }, value(r));
      },
    });
  }
  new Gauge({
    name: 'shipshape_dead_letters_open',
    help: 'Dead letters not yet replayed',
    registers: [registry],
    async collect() {
      const { rows: r } = await deps.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM app.dead_letters WHERE status = 'open'`,
      );
      this.set(r[0]?.n ?? 0);
    },
  });
}
