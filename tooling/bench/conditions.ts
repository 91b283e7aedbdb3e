import os from 'node:os';
import type { RunningDesign } from './designs';
import { HTTP_AGENT, SKU_MIX } from './load';
import type { BenchContext } from './phases';
import { schedulingGroupOf } from '../../src/processes/priority';
import { nicenessOf } from './proc-tree';
import { loadAverageAtStart } from './run-info';

/**
 * The conditions a design was measured under, printed and written with its figures: a latency is only
 * comparable with another measured the same way (the same Node, key, orders, warm-up, connections,
 * priorities and a machine as quiet).
 */
export interface Conditions {
  harness: string;
  /** How the app was started and the Node that runs it. */
  app: { command: string; node: string; nodePath?: string };
  /** Where the HTTP load comes from and the Node that runs it. */
  loadGenerator: { process: string; node: string; pid: number };
  httpClient: string;
  providerLatencyMs: number;
  apiKey: string;
  apiRateLimit: string;
  skuMix: string;
  warmUp: string;
  /** Nice value of each measured process, the bench's and the load generator's. */
  niceness: Record<string, number>;
  /**
   * The niceness of the session (Linux's autogroup) of each process that runs in another session than
   * the bench's (the stack's servers): a process's own niceness ranks it only inside its session.
   */
  sessionNiceness: Record<string, number>;
  loadAverageAtStart: number[];
  cores: number;
}

export function conditionsOf(
  running: RunningDesign,
  ctx: BenchContext,
  providerLatencyMs: number,
  warmUp: string,
): Conditions {
  const load = ctx.harness.load;
  const niceness: Record<string, number> = {};
  const watched: Record<string, number> = {
    bench: process.pid,
    ...(load ? { 'load generator': load.pid } : {}),
  };
  for (const [name, w] of Object.entries(running.processes())) if (w) watched[name] = w.pid;
  const sessionNiceness: Record<string, number> = {};
  const ours = schedulingGroupOf(process.pid)?.group;
  for (const [name, pid] of Object.entries(watched)) {
    const n = nicenessOf(pid);
    if (n !== undefined) niceness[name] = n;
    const session = schedulingGroupOf(pid);
    if (session && session.group !== ours) sessionNiceness[name] = session.niceness;
  }
  return {
    harness: ctx.harness.kind,
    app: running.app,
    loadGenerator: load
      ? { process: 'the load process, forked by the bench', node: load.node, pid: load.pid }
      : { process: 'the bench process itself', node: process.version, pid: process.pid },
    httpClient:
      `${HTTP_AGENT.client}, keep-alive ${HTTP_AGENT.keepAlive ? 'on' : 'off'}, ` +
      `at most ${HTTP_AGENT.maxSockets} sockets; a new agent (new connections) for each load`,
    providerLatencyMs,
    apiKey: running.apiKey,
    apiRateLimit: ctx.env.SHIPSHAPE_API_RATE_PER_MIN === '0' ? 'off' : 'as configured',
    skuMix: SKU_MIX,
    warmUp,
    niceness,
    sessionNiceness,
    loadAverageAtStart,
    cores: os.cpus().length,
  };
}

/** The conditions as progress lines. */
export function conditionLines(c: Conditions): string[] {
  const nice = Object.entries(c.niceness)
    .map(([n, v]) => `${n} ${v}`)
    .join(', ');
  return [
    `harness ${c.harness}; app: ${c.app.command} on Node ${c.app.node}`,
    `load: ${c.loadGenerator.process} (pid ${c.loadGenerator.pid}) on Node ${c.loadGenerator.node}; ${c.httpClient}`,
    `providers ${c.providerLatencyMs} ms a call; API key: ${c.apiKey}; API rate limit ${c.apiRateLimit}`,
    `orders: ${c.skuMix}`,
    `warm-up: ${c.warmUp}`,
    `nice: ${nice}`,
    `sessions of their own, and their nice: ${
      Object.entries(c.sessionNiceness)
        .map(([n, v]) => `${n} ${v}`)
        .join(', ') || 'none'
    }`,
    `load average at start ${c.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} on ${c.cores} cores`,
  ];
}
