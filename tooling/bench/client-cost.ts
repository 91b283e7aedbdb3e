import { performance } from 'node:perf_hooks';

/**
 * What a load cost the process that generated it. On a machine whose cores the client shares with the
 * API, a client's own CPU shows in the latency it measures: the bench's load process and the outside
 * client report it side by side.
 */
export interface ClientCost {
  /** The process's CPU (user + system) per order posted. */
  cpuMsPerOrder: number;
  /** The share of the load's wall time the process's event loop was busy: near 1, the client is the bottleneck. */
  eventLoopUtilization: number;
}

/** Runs `load` and measures this process's cost of it, per order of the `orders()` it posted. */
export async function withClientCost<T>(
  load: () => Promise<T>,
  orders: () => number,
): Promise<{ result: T; cost: ClientCost }> {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const result = await load();
  const used = process.cpuUsage(cpu);
  const n = Math.max(1, orders());
  return {
    result,
    cost: {
      cpuMsPerOrder: Math.round(((used.user + used.system) / 1000 / n) * 100) / 100,
      eventLoopUtilization:
        Math.round(performance.eventLoopUtilization(elu).utilization * 100) / 100,
    },
  };
}
