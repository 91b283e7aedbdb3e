import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export function httpMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'shipshape_http_requests_total',
      help: 'HTTP requests answered, by route and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'shipshape_http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    ordersAccepted: new Counter({
      name: 'shipshape_orders_accepted_total',
      help: 'Orders accepted by POST /orders (new workflows started)',
      registers: [registry],
    }),
  };
}
