import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { KeyedLanes } from '../messaging/lanes';

/** A registry per process, with Node's default metrics and the process name as a label. */
export function createRegistry(processName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** What a command consumer counts: commands handled by outcome, duplicates answered from the record, redeliveries. */
export function consumerMetrics(registry: Registry) {
  return {
    handled: new Counter({
      name: 'shipshape_commands_handled_total',
      help: 'Commands handled by a service, by outcome (applied, rejected, stale, duplicate, fenced, failed, terminated)',
      labelNames: ['service', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
export type ConsumerMetrics = ReturnType<typeof consumerMetrics>;

/**
 * Messages refused for who sent them: a reply that arrived on another service's subject, an outbox
 * row whose subject is not its service's. Any count above zero is an alert: a process speaks for
 * another.
 */
export function provenanceCounter(registry: Registry) {
  return new Counter({
    name: 'shipshape_messages_refused_for_provenance_total',
    help: 'Replies and outbox rows refused because they did not come from the service they claim (alert on any)',
    labelNames: ['where', 'service'] as const,
    registers: [registry],
  });
}
export type ProvenanceCounter = ReturnType<typeof provenanceCounter>;

/** Reports each lane's depth (running + queued) when scraped. */
export function laneGauge(
  registry: Registry,
  consumer: string,
  lanes: () => KeyedLanes | undefined,
): void {
  new Gauge({
    name: 'shipshape_lane_in_flight',
    help: 'Messages held by each key-ordered lane (running and queued)',
    labelNames: ['consumer', 'lane'] as const,
    registers: [registry],
    collect() {
      const l = lanes();
      if (!l) return;
      l.depths().forEach((d, i) => this.set({ consumer, lane: String(i) }, d));
    },
  });
}

/** Serves GET /metrics on its own port, for worker processes that have no HTTP server of their own. */
export async function serveMetrics(
  registry: Registry,
  port: number,
  host: string,
): Promise<{ close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
