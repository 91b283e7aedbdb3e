import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { ALL_STREAMS } from '../messaging/topology';
import { consumerBacklog, taskQueueBacklog } from './backlog';
import type { BacklogRow } from './backlog';

/**
 * Backlog across broker and engine, read when scraped (at most once a second): per JetStream consumer
 * the pending count and the oldest pending message's age, Temporal's task-queue backlog, each stream's
 * size against its limit, open dead letters.
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
  registerStreamGauges(registry, deps.jsm);
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

/**
 * Each stream's bytes and its byte limit (read when scraped, at most once a second). A work stream at
 * its limit refuses publishes until consumers catch up: Prometheus alerts well before
 * (deploy/prometheus/alerts.yml).
 */
function registerStreamGauges(registry: Registry, jsm: JetStreamManager): void {
  let cached: { at: number; infos: Promise<StreamInfo[]> } | undefined;
  const infos = () => {
    if (!cached || Date.now() - cached.at > 1000)
      cached = { at: Date.now(), infos: Promise.all(ALL_STREAMS.map((s) => jsm.streams.info(s))) };
    return cached.infos;
  };
  const perStream: [string, string, (i: StreamInfo) => number][] = [
    ['shipshape_stream_bytes', 'Bytes a JetStream stream holds', (i) => i.state.bytes],
    ['shipshape_stream_messages', 'Messages a JetStream stream holds', (i) => i.state.messages],
    [
      'shipshape_stream_max_bytes',
      'The byte limit of a JetStream stream (SHIPSHAPE_STREAM_MAX_BYTES)',
      (i) => i.config.max_bytes,
    ],
  ];
  for (const [name, help, value] of perStream) {
    new Gauge({
      name,
      help,
      labelNames: ['stream'] as const,
      registers: [registry],
      async collect() {
        for (const i of await infos()) this.set({ stream: i.config.name }, value(i));
      },
    });
  }
}
