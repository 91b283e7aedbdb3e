import { parseArgs } from 'node:util';
import { withClientCost } from './client-cost';
import type { ClientCost } from './client-cost';
import { Orders, orderBody, percentile } from './load';

/**
 * An outside client: the stream's shape (`orders` orders from `clients` clients, each posting its next
 * once answered) against an API that is already running, timed by a program that shares nothing with
 * the bench: its own process, Node's own fetch, its own connections. What it measures is what a
 * user's client gets, to hold the bench's figures against.
 *
 *   node dist/tooling/bench/outside-client.js --url http://127.0.0.1:3000/orders [--orders 400]
 *     [--clients 16] [--warm-up 0] [--client fetch|http] [--prefix outside] [--json] [--go-on-stdin]
 *   (the key: SHIPSHAPE_CALLER_API_KEY)
 *
 * `--go-on-stdin`: after its warm-up, print `ready` and post the measured stream only once a line
 * arrives on stdin, so that whoever runs it can start it at a chosen moment (the bench: the moment its
 * own stream started, relative to the backlog it drains).
 */

export interface OutsideStream {
  url: string;
  key: string;
  orders: number;
  clients: number;
  /** Order ids are `<prefix>-<n>`: a prefix of its own for each run, or the API finds them placed. */
  prefix: string;
  /**
   * Orders posted first, from as many clients, and not counted: this process's JIT and its connections
   * warm, as the bench's own load process is by the time it posts the stream. 0: a cold client.
   */
  warmUp: number;
  /**
   * `http`: the node:http client the bench's load process uses, so that only the process differs;
   * `fetch`: Node's own (undici), what many programs use, at several times the CPU per request.
   */
  client: OutsideClientKind;
  /** Awaited between the warm-up and the measured stream: the moment to start it. */
  beforeMeasured?: () => Promise<void>;
}

export const OUTSIDE_CLIENTS = ['fetch', 'http'] as const;
export type OutsideClientKind = (typeof OUTSIDE_CLIENTS)[number];
export const DEFAULT_OUTSIDE_CLIENT: OutsideClientKind = 'http';

export interface OutsideFigures {
  client: string;
  node: string;
  orders: number;
  clients: number;
  warmUp: number;
  accepted: number;
  /** Orders not accepted, by HTTP status ('no answer' for a network error). */
  refusedBy: Record<string, number>;
  acceptP50Ms: number;
  acceptP99Ms: number;
  acceptMaxMs: number;
  seconds: number;
  /** What the measured stream cost this process. */
  clientCost: ClientCost;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** `orders` orders from `clients` clients, each posting its next once answered: the accepted ones' latencies. */
async function closedLoop(
  s: OutsideStream,
  prefix: string,
  orders: number,
): Promise<{ times: number[]; refusedBy: Record<string, number> }> {
  if (s.client === 'http') return httpClosedLoop(s, prefix, orders);
  const times: number[] = [];
  const refusedBy: Record<string, number> = {};
  let next = 0;
  const client = async () => {
    while (next < orders) {
      const n = next++;
      const body = JSON.stringify(orderBody(`${prefix}-${n}`, n));
      const started = performance.now();
      let status: string;
      try {
        const res = await fetch(s.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        status = String(res.status);
      } catch {
        status = 'no answer';
      }
      const ms = performance.now() - started;
      if (status.startsWith('2')) times.push(ms);
      else refusedBy[status] = (refusedBy[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: s.clients }, client));
  return { times, refusedBy };
}

async function httpClosedLoop(
  s: OutsideStream,
  prefix: string,
  orders: number,
): Promise<{ times: number[]; refusedBy: Record<string, number> }> {
  const load = new Orders({ url: s.url, headers: { authorization: `Bearer ${s.key}` } }, prefix);
  try {
    await load.burst(orders, s.clients);
  } finally {
    load.close();
  }
  const all = [...load.byId.values()];
  const refusedBy: Record<string, number> = {};
  for (const t of all)
    if (!(t.httpStatus && t.httpStatus < 300)) {
      const why = t.httpStatus ? String(t.httpStatus) : 'no answer';
      refusedBy[why] = (refusedBy[why] ?? 0) + 1;
    }
  const times = all.filter((t) => t.httpStatus && t.httpStatus < 300).map((t) => t.acceptMs!);
  return { times, refusedBy };
}

export async function outsideStream(s: OutsideStream): Promise<OutsideFigures> {
  if (s.warmUp > 0) await closedLoop(s, `${s.prefix}w`, s.warmUp);
  await s.beforeMeasured?.();
  const began = performance.now();
  const {
    result: { times, refusedBy },
    cost,
  } = await withClientCost(
    () => closedLoop(s, s.prefix, s.orders),
    () => s.orders,
  );
  return {
    client:
      s.client === 'fetch'
        ? "Node's fetch (undici, keep-alive), a process of its own"
        : 'node:http Agent (keep-alive), a process of its own',
    node: process.version,
    orders: s.orders,
    clients: s.clients,
    warmUp: s.warmUp,
    accepted: times.length,
    refusedBy,
    acceptP50Ms: round1(percentile(times, 50)),
    acceptP99Ms: round1(percentile(times, 99)),
    acceptMaxMs: round1(times.length ? Math.max(...times) : NaN),
    seconds: round1((performance.now() - began) / 1000),
    clientCost: cost,
  };
}

export function outsideLine(f: OutsideFigures): string {
  const refused = Object.keys(f.refusedBy).length
    ? ` (refused: ${JSON.stringify(f.refusedBy)})`
    : '';
  return (
    `${f.accepted}/${f.orders} accepted in ${f.seconds} s${refused}; ` +
    `accept p50 ${f.acceptP50Ms} ms p99 ${f.acceptP99Ms} ms max ${f.acceptMaxMs} ms ` +
    `(${f.clients} clients after ${f.warmUp ? `${f.warmUp} orders' warm-up` : 'no warm-up'}, ${f.client}, Node ${f.node})`
  );
}

/** Says `ready` on stdout and resolves once a line (or the end) arrives on stdin. */
function readyThenGo(): Promise<void> {
  process.stdout.write('ready\n');
  return new Promise((resolve) => {
    const go = () => {
      process.stdin.pause();
      resolve();
    };
    process.stdin.once('data', go);
    process.stdin.once('end', go);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      orders: { type: 'string', default: '400' },
      clients: { type: 'string', default: '16' },
      prefix: { type: 'string', default: `outside-${Date.now().toString(36)}` },
      'warm-up': { type: 'string', default: '0' },
      client: { type: 'string', default: DEFAULT_OUTSIDE_CLIENT },
      json: { type: 'boolean', default: false },
      'go-on-stdin': { type: 'boolean', default: false },
    },
  });
  const key = process.env.SHIPSHAPE_CALLER_API_KEY;
  const orders = Number(values.orders);
  const clients = Number(values.clients);
  const warmUp = Number(values['warm-up']);
  const client = values.client as OutsideClientKind;
  if (
    !values.url ||
    !key ||
    !(orders >= 1) ||
    !(clients >= 1) ||
    !(warmUp >= 0) ||
    !OUTSIDE_CLIENTS.includes(client)
  ) {
    process.stderr.write(
      'usage: SHIPSHAPE_CALLER_API_KEY=<key> node dist/tooling/bench/outside-client.js --url <url> [--orders n] [--clients n] [--warm-up n] [--client fetch|http] [--prefix p] [--json] [--go-on-stdin]\n',
    );
    process.exit(2);
  }
  const f = await outsideStream({
    url: values.url,
    key,
    orders,
    clients,
    warmUp,
    client,
    prefix: values.prefix,
    beforeMeasured: values['go-on-stdin'] ? readyThenGo : undefined,
  });
  process.stdout.write((values.json ? JSON.stringify(f) : outsideLine(f)) + '\n');
}

if (require.main === module)
  main().catch((err: unknown) => {
    process.stderr.write(`outside-client: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
